using Platform.Definitions.Checks;
using Platform.Definitions.Loading;
using Xunit;

namespace Platform.Definitions.Tests;

/// <summary>
/// Names the generated code takes for itself (a saga's types, an aggregate's state, a projection's
/// handler, an event's descriptor) are refused where they are declared, instead of becoming
/// generated code that does not compile.
/// </summary>
public sealed class GeneratedNameTests
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

    [Theory]
    [InlineData("OrderState", "aggregate 'Order' generates a type of that name: its state")]
    [InlineData("OrderSummaryProjection", "projection 'OrderSummary' generates a type of that name: its handler")]
    [InlineData("OrderPlacedEventType", "event 'OrderPlaced' generates a type of that name: its descriptor")]
    [InlineData("OrderStatusJson", "enum 'OrderStatus' generates a type of that name: its JSON names")]
    public void a_command_named_like_a_type_generated_for_another_definition_is_refused(string name, string reason)
    {
        var contracts = DefinitionLoader.Load("more.yaml", $$"""
            contracts: More
            namespace: Shop.More
            commands:
              {{name}}:
                fields: { orderId: guid }
            """);
        Assert.Empty(contracts.Diagnostics);
        var diagnostic = Assert.Single(DefinitionSet.Check(Corpus.Orders.Append(contracts.Value!)).Diagnostics, d => d.Code == "PLT0208");
        Assert.Equal(("more.yaml", 4), (diagnostic.Span.Path, diagnostic.Span.StartLine));
        Assert.Contains(reason, diagnostic.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void the_orders_saga_takes_no_name_twice() =>
        Assert.DoesNotContain(DefinitionSet.Check(Corpus.Orders).Diagnostics, d => d.Code == "PLT0208");
}
