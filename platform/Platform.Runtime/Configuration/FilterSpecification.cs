using MassTransit;
using MassTransit.Configuration;

namespace Platform.Runtime.Configuration;

/// <summary>Adds one filter to an endpoint's pipe (e.g. with <c>AddPrePipeSpecification</c>).</summary>
sealed class FilterSpecification(IFilter<ConsumeContext> filter) : IPipeSpecification<ConsumeContext>
{
    public void Apply(IPipeBuilder<ConsumeContext> builder) => builder.AddFilter(filter);

    public IEnumerable<ValidationResult> Validate() => [];
}

/// <summary>Adds one filter to an endpoint's pipe for one message type (with <c>AddPipeSpecification&lt;T&gt;</c>).</summary>
sealed class FilterSpecification<T>(IFilter<ConsumeContext<T>> filter) : IPipeSpecification<ConsumeContext<T>>
    where T : class
{
    public void Apply(IPipeBuilder<ConsumeContext<T>> builder) => builder.AddFilter(filter);

    public IEnumerable<ValidationResult> Validate() => [];
}
