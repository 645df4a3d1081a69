using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using Platform.Messaging;
using Shop.Inventory;
using Shop.Orders;
using Shop.Payments;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>
/// The generated OrderFulfilment state machine on MassTransit's in-memory harness, with payment and
/// inventory services that succeed or fail on demand.
/// </summary>
public class GeneratedSagaRuns
{
    sealed class Behaviour
    {
        public bool InventoryFails;
        public bool RefundFails;
        public bool PaymentSilent;
        public int Refunds;
        public Guid? RefundedPayment;
    }

    sealed class Payments(Behaviour behaviour) : IConsumer<ChargePayment>, IConsumer<RefundPayment>
    {
        public Task Consume(ConsumeContext<ChargePayment> context) => behaviour.PaymentSilent
            ? Task.CompletedTask // the bank answers later (the test publishes the reply)
            : context.Publish(new PaymentCharged(context.Message.OrderId, Guid.NewGuid(), context.Message.Amount));

        public Task Consume(ConsumeContext<RefundPayment> context)
        {
            Interlocked.Increment(ref behaviour.Refunds);
            behaviour.RefundedPayment = context.Message.PaymentId;
            return behaviour.RefundFails
                ? context.Publish(new RefundFailed(context.Message.OrderId, context.Message.PaymentId, "bank offline"))
                : context.Publish(new PaymentRefunded(context.Message.OrderId, context.Message.PaymentId));
        }
    }

    sealed class Inventory(Behaviour behaviour) : IConsumer<ReserveInventory>, IConsumer<ArrangeShipment>
    {
        public Task Consume(ConsumeContext<ReserveInventory> context) => behaviour.InventoryFails
            ? context.Publish(new InventoryUnavailable(context.Message.OrderId, "p-1"))
            : context.Publish(new InventoryReserved(context.Message.OrderId, Guid.NewGuid()));

        public Task Consume(ConsumeContext<ArrangeShipment> context) =>
            context.Publish(new ShipmentArranged(context.Message.OrderId, "TRACK-1"));
    }

    static GeneratedSagaRuns()
    {
        EndpointConvention.Map<ChargePayment>(new Uri("queue:payments"));
        EndpointConvention.Map<RefundPayment>(new Uri("queue:payments"));
        EndpointConvention.Map<ReserveInventory>(new Uri("queue:inventory"));
        EndpointConvention.Map<ReleaseInventory>(new Uri("queue:inventory"));
        EndpointConvention.Map<ArrangeShipment>(new Uri("queue:inventory"));
        EndpointConvention.Map<ShipOrder>(new Uri("queue:orders"));
    }

    static async Task<(ITestHarness Harness, ServiceProvider Provider)> Start(Behaviour behaviour)
    {
        var provider = new ServiceCollection()
            .AddSingleton(behaviour)
            .AddMassTransitTestHarness(x =>
            {
                x.SetInMemorySagaRepositoryProvider();
                // The harness's "has it been consumed" waits end after this long without traffic;
                // its short default failed the refund test once on a busy CI machine.
                x.SetTestTimeouts(testInactivityTimeout: TimeSpan.FromSeconds(5));
                x.AddOrdersDomain(); // the generated registration: the saga and the reaction
                x.AddConsumer<Payments>();
                x.AddConsumer<Inventory>();
                x.AddDelayedMessageScheduler();
                x.UsingInMemory((context, cfg) =>
                {
                    cfg.UseDelayedMessageScheduler();
                    cfg.ReceiveEndpoint("payments", e => e.ConfigureConsumer<Payments>(context));
                    cfg.ReceiveEndpoint("inventory", e => e.ConfigureConsumer<Inventory>(context));
                    cfg.ConfigureEndpoints(context);
                });
            })
            .BuildServiceProvider(true);
        var harness = provider.GetRequiredService<ITestHarness>();
        await harness.Start();
        return (harness, provider);
    }

    static Task PlaceOrder(ITestHarness harness, Guid orderId) =>
        harness.Bus.Publish(
            new OrderPlaced("c-1", new[] { new OrderItem("p-1", 1, 10m) }, 10m, "Seoul", "KRW", "STANDARD"),
            context => context.Headers.Set(PlatformHeaders.StreamId, orderId.ToString("D")));

    static async Task<OrderFulfilmentState> Reaches(ITestHarness harness, Guid orderId, Func<OrderFulfilmentStateMachine, State> state)
    {
        var saga = harness.GetSagaStateMachineHarness<OrderFulfilmentStateMachine, OrderFulfilmentState>();
        var found = await saga.Exists(orderId, state, TimeSpan.FromSeconds(10));
        Assert.True(found.HasValue, $"saga {orderId} did not reach the expected state");
        return saga.Sagas.Contains(orderId)!;
    }

    [Fact]
    public async Task every_step_succeeding_completes_the_saga_with_the_data_kept_from_replies()
    {
        var (harness, provider) = await Start(new Behaviour());
        await using var _ = provider;
        var orderId = Guid.NewGuid();
        await PlaceOrder(harness, orderId);

        var saga = await Reaches(harness, orderId, m => m.Completed);
        Assert.Equal(orderId, saga.OrderId);
        Assert.NotNull(saga.PaymentId);
        Assert.NotNull(saga.ReservationId);
        Assert.Equal("TRACK-1", saga.TrackingNumber);
    }

    [Fact]
    public async Task inventory_failure_refunds_the_payment_and_ends_compensated()
    {
        var behaviour = new Behaviour { InventoryFails = true };
        var (harness, provider) = await Start(behaviour);
        await using var _ = provider;
        var orderId = Guid.NewGuid();
        await PlaceOrder(harness, orderId);

        var saga = await Reaches(harness, orderId, m => m.Compensated);
        Assert.Equal("InventoryUnavailable", saga.FailureReason);
        Assert.Equal("PaymentRefunded", saga.PaymentCompensation);
        Assert.Equal(1, behaviour.Refunds);
    }

    [Fact]
    public async Task a_failing_compensation_parks_the_saga_and_publishes_an_alert()
    {
        var (harness, provider) = await Start(new Behaviour { InventoryFails = true, RefundFails = true });
        await using var _ = provider;
        var orderId = Guid.NewGuid();
        await PlaceOrder(harness, orderId);

        var saga = await Reaches(harness, orderId, m => m.CompensationFailed);
        Assert.Equal("RefundFailed", saga.PaymentCompensation);
        Assert.True(await harness.Published.Any<OrderFulfilmentCompensationFailed>(m => m.Context.Message.CorrelationId == orderId));
    }

    [Fact]
    public async Task a_payment_that_succeeds_after_the_order_was_cancelled_is_refunded_once()
    {
        var behaviour = new Behaviour { PaymentSilent = true };
        var (harness, provider) = await Start(behaviour);
        await using var _ = provider;
        var orderId = Guid.NewGuid();
        await PlaceOrder(harness, orderId);
        await Reaches(harness, orderId, m => m.AwaitingPayment);

        // The customer cancels while the charge is still in flight: nothing completed, so the saga ends compensated.
        await harness.Bus.Publish(new OrderCancelled("changed my mind"),
            context => context.Headers.Set(PlatformHeaders.StreamId, orderId.ToString("D")));
        var saga = await Reaches(harness, orderId, m => m.Compensated);
        Assert.Equal("OrderCancelled", saga.FailureReason);

        // Then the bank confirms the charge: without a refund the customer would pay for nothing.
        var paymentId = Guid.NewGuid();
        await harness.Bus.Publish(new PaymentCharged(orderId, paymentId, 10m));
        var machine = harness.GetSagaStateMachineHarness<OrderFulfilmentStateMachine, OrderFulfilmentState>();
        Assert.True(await machine.Consumed.Any<PaymentRefunded>(m => m.Context.Message.OrderId == orderId));
        Assert.Equal((1, paymentId), (behaviour.Refunds, behaviour.RefundedPayment));
        saga = await Reaches(harness, orderId, m => m.Compensated);
        Assert.Equal("PaymentRefunded", saga.PaymentCompensation);

        // The same confirmation sent again (another message) refunds nothing more.
        await harness.Bus.Publish(new PaymentCharged(orderId, paymentId, 10m));
        var until = DateTime.UtcNow.AddSeconds(10);
        while (machine.Consumed.Select<PaymentCharged>(c => c.Context.Message.OrderId == orderId).Count() < 2 && DateTime.UtcNow < until)
            await Task.Delay(20);
        Assert.Equal(2, machine.Consumed.Select<PaymentCharged>(c => c.Context.Message.OrderId == orderId).Count());
        await harness.InactivityTask; // anything the second confirmation sent has been consumed by now
        Assert.Equal(1, behaviour.Refunds);
    }
}
