using MassTransit;
using MassTransit.Configuration;

namespace Platform.Runtime.Configuration;

/// <summary>Adds one filter to an endpoint's pipe (e.g. with <c>AddPrePipeSpecification</c>).</summary>
sealed class FilterSpecification(IFilter<ConsumeContext> filter) : IPipeSpecification<ConsumeContext>
{
    public void Apply(IPipeBuilder<ConsumeContext> builder) => builder.AddFilter(filter);

    public IEnumerable<ValidationResult> Validate() => [];
}
