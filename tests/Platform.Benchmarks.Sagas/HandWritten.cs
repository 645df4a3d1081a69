using MassTransit;
using Platform.Events;
using Platform.Messaging;
using Shop.Inventory;
using Shop.Orders;
using Shop.Payments;

namespace Platform.Benchmarks.Sagas;

/// <summary>The hand-written contender's state: the same data as the generated OrderFulfilmentState.</summary>
public sealed class HandFulfilmentState : SagaStateMachineInstance, ISagaVersion
{
    public Guid CorrelationId { get; set; }
    public string CurrentState { get; set; } = "";
    public int Version { get; set; }
    public string CustomerId { get; set; } = "";
    public decimal TotalAmount { get; set; }
    public string Currency { get; set; } = "";
    public IReadOnlyList<OrderItem> Items { get; set; } = [];
    public string ShippingAddress { get; set; } = "";
    public string ShippingMethod { get; set; } = "";
    public Guid? PaymentId { get; set; }
    public Guid? ReservationId { get; set; }
    public string? TrackingNumber { get; set; }
    public string? FailureReason { get; set; }
    public Guid? PaymentTimeoutTokenId { get; set; }
    public Guid? InventoryTimeoutTokenId { get; set; }
    public Guid? ShippingTimeoutTokenId { get; set; }
    public Guid? SagaTimeoutTokenId { get; set; }
}

public sealed record HandPaymentTimeout(Guid CorrelationId) : CorrelatedBy<Guid>;
public sealed record HandInventoryTimeout(Guid CorrelationId) : CorrelatedBy<Guid>;
public sealed record HandShippingTimeout(Guid CorrelationId) : CorrelatedBy<Guid>;
public sealed record HandSagaTimeout(Guid CorrelationId) : CorrelatedBy<Guid>;

/// <summary>
/// The fulfilment as a MassTransit user writes it by hand: the same three steps, step and saga
/// timeouts, and a refund when inventory fails, so both contenders do the same work per saga.
/// </summary>
public sealed class HandFulfilmentStateMachine : MassTransitStateMachine<HandFulfilmentState>
{
    public State AwaitingPayment { get; private set; } = null!;
    public State AwaitingInventory { get; private set; } = null!;
    public State AwaitingShipment { get; private set; } = null!;
    public State Completed { get; private set; } = null!;
    public State CompensatingPayment { get; private set; } = null!;
    public State Compensated { get; private set; } = null!;

    public Event<OrderPlaced> Placed { get; private set; } = null!;
    public Event<PaymentCharged> Charged { get; private set; } = null!;
    public Event<PaymentFailed> Declined { get; private set; } = null!;
    public Event<InventoryReserved> Reserved { get; private set; } = null!;
    public Event<InventoryUnavailable> Unavailable { get; private set; } = null!;
    public Event<ShipmentArranged> Shipped { get; private set; } = null!;
    public Event<PaymentRefunded> Refunded { get; private set; } = null!;

    public Schedule<HandFulfilmentState, HandPaymentTimeout> PaymentTimeout { get; private set; } = null!;
    public Schedule<HandFulfilmentState, HandInventoryTimeout> InventoryTimeout { get; private set; } = null!;
    public Schedule<HandFulfilmentState, HandShippingTimeout> ShippingTimeout { get; private set; } = null!;
    public Schedule<HandFulfilmentState, HandSagaTimeout> SagaTimeout { get; private set; } = null!;

    public HandFulfilmentStateMachine()
    {
        InstanceState(x => x.CurrentState);
        Event(() => Placed, x => x.CorrelateById(context => Guid.Parse(context.Headers.Get<string>(PlatformHeaders.StreamId)!)));
        Event(() => Charged, x => x.CorrelateById(context => context.Message.OrderId));
        Event(() => Declined, x => x.CorrelateById(context => context.Message.OrderId));
        Event(() => Reserved, x => x.CorrelateById(context => context.Message.OrderId));
        Event(() => Unavailable, x => x.CorrelateById(context => context.Message.OrderId));
        Event(() => Shipped, x => x.CorrelateById(context => context.Message.OrderId));
        Event(() => Refunded, x => x.CorrelateById(context => context.Message.OrderId));
        Schedule(() => PaymentTimeout, x => x.PaymentTimeoutTokenId, s => s.Delay = TimeSpan.FromSeconds(30));
        Schedule(() => InventoryTimeout, x => x.InventoryTimeoutTokenId, s => s.Delay = TimeSpan.FromMinutes(1));
        Schedule(() => ShippingTimeout, x => x.ShippingTimeoutTokenId, s => s.Delay = TimeSpan.FromMinutes(5));
        Schedule(() => SagaTimeout, x => x.SagaTimeoutTokenId, s => s.Delay = TimeSpan.FromHours(2));

        Initially(When(Placed)
            .Then(context =>
            {
                context.Saga.CustomerId = context.Message.CustomerId;
                context.Saga.TotalAmount = context.Message.TotalAmount;
                context.Saga.Currency = context.Message.Currency;
                context.Saga.Items = context.Message.Items;
                context.Saga.ShippingAddress = context.Message.ShippingAddress;
                context.Saga.ShippingMethod = context.Message.ShippingMethod;
            })
            .Schedule(SagaTimeout, context => new HandSagaTimeout(context.Saga.CorrelationId))
            .Send(context => new ChargePayment(context.Saga.CorrelationId, context.Saga.CustomerId, context.Saga.TotalAmount, context.Saga.Currency))
            .Schedule(PaymentTimeout, context => new HandPaymentTimeout(context.Saga.CorrelationId))
            .TransitionTo(AwaitingPayment));
        During(AwaitingPayment,
            When(Charged)
                .Unschedule(PaymentTimeout)
                .Then(context => context.Saga.PaymentId = context.Message.PaymentId)
                .Send(context => new ReserveInventory(context.Saga.CorrelationId, context.Saga.Items))
                .Schedule(InventoryTimeout, context => new HandInventoryTimeout(context.Saga.CorrelationId))
                .TransitionTo(AwaitingInventory),
            When(Declined)
                .Unschedule(PaymentTimeout)
                .Unschedule(SagaTimeout)
                .Then(context => context.Saga.FailureReason = "PaymentFailed")
                .TransitionTo(Compensated));
        During(AwaitingInventory,
            When(Reserved)
                .Unschedule(InventoryTimeout)
                .Then(context => context.Saga.ReservationId = context.Message.ReservationId)
                .Send(context => new ArrangeShipment(context.Saga.CorrelationId, context.Saga.ShippingAddress, context.Saga.ShippingMethod))
                .Schedule(ShippingTimeout, context => new HandShippingTimeout(context.Saga.CorrelationId))
                .TransitionTo(AwaitingShipment),
            When(Unavailable)
                .Unschedule(InventoryTimeout)
                .Then(context => context.Saga.FailureReason = "InventoryUnavailable")
                .Send(context => new RefundPayment(context.Saga.CorrelationId, context.Saga.PaymentId ?? Guid.Empty, context.Saga.TotalAmount))
                .TransitionTo(CompensatingPayment));
        During(AwaitingShipment,
            When(Shipped)
                .Unschedule(ShippingTimeout)
                .Unschedule(SagaTimeout)
                .Then(context => context.Saga.TrackingNumber = context.Message.TrackingNumber)
                .TransitionTo(Completed));
        During(CompensatingPayment,
            When(Refunded)
                .Unschedule(SagaTimeout)
                .TransitionTo(Compensated));
    }
}

/// <summary>A domain class listing only the hand-written saga.</summary>
public static class HandDomain
{
    public static IReadOnlyList<EventTypeDescriptor> EventTypes { get; } = [];
    public static IReadOnlyList<object> Aggregates { get; } = [];
    public static IReadOnlyList<Type> Projections { get; } = [];
    public static IReadOnlyList<(Type StateMachine, Type State)> Sagas { get; } = [(typeof(HandFulfilmentStateMachine), typeof(HandFulfilmentState))];
    public static IReadOnlyList<Type> Reactions { get; } = [];
}

/// <summary>A domain class listing only the generated saga (no reaction, no aggregate), so both contenders host one saga.</summary>
public static class GeneratedDomain
{
    public static IReadOnlyList<EventTypeDescriptor> EventTypes { get; } = [];
    public static IReadOnlyList<object> Aggregates { get; } = [];
    public static IReadOnlyList<Type> Projections { get; } = [];
    public static IReadOnlyList<(Type StateMachine, Type State)> Sagas { get; } = OrdersDomain.Sagas;
    public static IReadOnlyList<Type> Reactions { get; } = [];
}

/// <summary>The payment and inventory services: always succeed, answer each command once.</summary>
public sealed class Services : IConsumer<ChargePayment>, IConsumer<ReserveInventory>, IConsumer<ArrangeShipment>
{
    public Task Consume(ConsumeContext<ChargePayment> context) =>
        context.Publish(new PaymentCharged(context.Message.OrderId, Guid.NewGuid(), context.Message.Amount));

    public Task Consume(ConsumeContext<ReserveInventory> context) =>
        context.Publish(new InventoryReserved(context.Message.OrderId, Guid.NewGuid()));

    public Task Consume(ConsumeContext<ArrangeShipment> context) =>
        context.Publish(new ShipmentArranged(context.Message.OrderId, "T-" + context.Message.OrderId.ToString("N")[..8]));
}
