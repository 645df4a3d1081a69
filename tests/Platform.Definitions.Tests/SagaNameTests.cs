using Platform.Definitions.Checks;
using Platform.Definitions.Loading;
using Xunit;

namespace Platform.Definitions.Tests;

/// <summary>
/// Names the generated saga code takes for itself are refused where they are declared, instead of
/// becoming generated code that does not compile.
/// </summary>
public sealed class SagaNameTests
{
    [Fact]
    public void a_declared_type_with_the_name_of_a_generated_saga_type_is_refused_where_it_is_declared()
    {
        // OrderFulfilment has a saga timeout, so the generator writes a record OrderFulfilmentTimeout.
        var contracts = DefinitionLoader.Load("timeouts.yaml", """
            contracts: Timeouts
            namespace: Shop.Timeouts
            events:
              OrderFulfilmentTimeout:
                kind: integration
                type: shop.timeouts.order-fulfilment-timeout
                fields: { orderId: guid }
            """);
        Assert.Empty(contracts.Diagnostics);
        var diagnostic = Assert.Single(DefinitionSet.Check(Corpus.Orders.Append(contracts.Value!)).Diagnostics, d => d.Code == "PLT0208");
        Assert.Equal(("timeouts.yaml", 4), (diagnostic.Span.Path, diagnostic.Span.StartLine));
        Assert.Contains("saga 'OrderFulfilment' generates a type of that name: its timeout message", diagnostic.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void the_orders_saga_takes_no_name_twice() =>
        Assert.DoesNotContain(DefinitionSet.Check(Corpus.Orders).Diagnostics, d => d.Code == "PLT0208");
}
