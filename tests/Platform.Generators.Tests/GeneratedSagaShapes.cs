using MassTransit;
using MassTransit.SagaStateMachine;
using Shop.Orders;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>
/// The transitions of generated state machines as MassTransit itself sees them (its graph of the
/// built machine): where a compensation waits, and where it stops waiting.
/// </summary>
public sealed class GeneratedSagaShapes
{
    [Fact]
    public void a_compensation_that_times_out_ends_in_compensation_failed()
    {
        var edges = Transitions(Graph(new OrderFulfilmentStateMachine()));
        Assert.Contains(("CompensatingPayment", "PaymentCompensationTimeout.Received", "CompensationFailed"), edges);
        Assert.Contains(("CompensatingInventory", "InventoryCompensationTimeout.Received", "CompensationFailed"), edges);
        // A reply in time goes on compensating, as before.
        Assert.Contains(("CompensatingInventory", "InventoryReleased", "CompensatingPayment"), edges);
    }

    // `compensate: ReleaseInventory` declares no reply: the release is sent and the refund follows at
    // once. The generated machine used to wait in CompensatingInventory for a reply no handler
    // took, so the payment was never refunded.
    [Fact]
    public void a_compensation_without_replies_is_sent_and_the_compensation_goes_on()
    {
        var machine = CompileVariant(yaml => yaml.Replace("""
                compensate:
                  send: ReleaseInventory
                  onSuccess: InventoryReleased
                  onFailure: ReleaseFailed
                  timeout: 10m
            """, """
                compensate: ReleaseInventory
            """, StringComparison.Ordinal));
        var edges = Transitions(Graph(machine));
        Assert.Contains(("AwaitingShipment", "ShipmentFailed", "CompensatingPayment"), edges);
        Assert.DoesNotContain(edges, e => e.To == "CompensatingInventory" || e.From == "CompensatingInventory");
        Assert.Contains(("CompensatingPayment", "PaymentRefunded", "Compensated"), edges);
    }

    // A handler that moves the saga out of a step cancels the step's timeout (it would arrive in a
    // state that does not take it), and the saga's too when the move ends the saga.
    [Fact]
    public void a_handler_that_leaves_a_step_cancels_its_timeout()
    {
        var source = GeneratedFulfilment(yaml => yaml.Replace("""
            on:
              OrderCancelled:
            """, """
            on:
              OrderConfirmed:
                in: [AwaitingInventory]
                then: Completed
              OrderCancelled:
            """, StringComparison.Ordinal));
        // Into the completed state by name ends the saga as 'then: complete' does, its hook included.
        Assert.Matches(@"When\(OrderConfirmed\)\s*\.Unschedule\(InventoryTimeout\)\s*\.Unschedule\(SagaTimeout\)\s*\.Then\(context => OnCompleted\(context\.Saga\)\)\s*\.TransitionTo\(Completed\)", source);
    }

    // A handler that moves the saga into another step's waiting state starts that step: its command
    // is sent and its timeout scheduled, as when the step before it succeeds. It used to move the
    // saga there alone, to wait for a reply to a command never sent until the timeout compensated.
    [Fact]
    public void a_handler_into_another_steps_state_starts_that_step()
    {
        static string WithHandler(string yaml) => yaml.Replace("""
            on:
              OrderCancelled:
            """, """
            on:
              OrderConfirmed:
                in: [AwaitingPayment, AwaitingShipment]
                then: AwaitingInventory
              OrderCancelled:
            """, StringComparison.Ordinal);
        var source = GeneratedFulfilment(WithHandler);
        var reserve = @"\.Send\(context => new global::Shop\.Inventory\.ReserveInventory\([^
]*\)\)\s*\.Schedule\(InventoryTimeout, [^
]*\)\s*\.TransitionTo\(AwaitingInventory\)";
        // Forward, the step left is recorded as skipped: it did not succeed, so nothing undoes it.
        Assert.Matches(@"During\(AwaitingPayment,[\s\S]*?When\(OrderConfirmed\)\s*\.Unschedule\(PaymentTimeout\)\s*\.Then\(context => context\.Saga\.PaymentSkipped = true\)\s*" + reserve, source);
        // Back from a later step, too (the reservation is asked for again).
        Assert.Matches(@"During\(AwaitingShipment,[\s\S]*?When\(OrderConfirmed\)\s*\.Unschedule\(ShippingTimeout\)\s*" + reserve, source);
        // A compensation refunds the payment only when it ran; the reservation always ran.
        Assert.Matches(@"\.IfElse\(context => context\.Saga\.PaymentSkipped,\s*skipped\d+ => skipped\d+\s*\.Then\(context => OnCompensated\(context\.Saga\)\)\s*\.TransitionTo\(Compensated\),\s*ran\d+ => ran\d+\s*\.Send\(context => new global::Shop\.Payments\.RefundPayment\(", source);
        Assert.DoesNotContain("InventorySkipped", source);
        var edges = Transitions(Graph(CompileVariant(WithHandler)));
        Assert.Contains(("AwaitingPayment", "OrderConfirmed", "AwaitingInventory"), edges);
        Assert.Contains(("AwaitingShipment", "OrderConfirmed", "AwaitingInventory"), edges);
    }

    static string GeneratedFulfilment(Func<string, string> edit)
    {
        var (driver, _) = GeneratorHarness.Compiles(GeneratorHarness.OrdersWith("fulfilment.yaml", edit));
        return GeneratorHarness.Source(driver, "Shop.Orders.OrderFulfilment.g.cs");
    }

    static StateMachineGraph Graph(object machine)
    {
        var stateType = machine.GetType().BaseType!.GetGenericArguments()[0];
        var getGraph = typeof(GraphStateMachineExtensions).GetMethod(nameof(GraphStateMachineExtensions.GetGraph))!.MakeGenericMethod(stateType);
        return (StateMachineGraph)getGraph.Invoke(null, [machine])!;
    }

    /// <summary>(state, event, state) for every event that moves the machine from one state to another.</summary>
    static List<(string From, string Event, string To)> Transitions(StateMachineGraph graph)
    {
        var transitions = new List<(string, string, string)>();
        foreach (var into in graph.Edges.Where(e => e.From.VertexType == typeof(Event) || e.From.VertexType.IsGenericType && e.From.VertexType.GetGenericTypeDefinition() == typeof(Event<>)))
            foreach (var from in graph.Edges.Where(e => e.To.Equals(into.From)))
                transitions.Add((from.From.Title, into.From.Title, into.To.Title));
        return transitions;
    }

    static object CompileVariant(Func<string, string> edit)
    {
        var (_, output) = GeneratorHarness.Compiles(GeneratorHarness.OrdersWith("fulfilment.yaml", edit));
        var assembly = GeneratorHarness.LoadAssembly(output);
        return Activator.CreateInstance(assembly.GetType("Shop.Orders.OrderFulfilmentStateMachine", throwOnError: true)!)!;
    }
}
