// The hand-written halves of docs/guides/hand-written-hooks.md, for the Orders example. They are
// partial classes of the generated types, so they compile in the service's assembly beside the
// generated code: HooksGuide compiles them with the code generated from examples/Orders/definitions
// and runs the command rule.
using Platform.Events;
using Shop.Inventory;

namespace Shop.Orders;

#region command-rule
public sealed partial class Order
{
    // A rule the YAML cannot say: how many lines an order may have depends on nothing in the
    // command's own fields that 'require:' could compare.
    const int MaxLines = 50;

    partial void CheckPlaceOrder(OrderState state, PlaceOrder command, ref string? rejection)
    {
        if (command.Items.Count > MaxLines)
            rejection = $"an order has at most {MaxLines} lines, this one has {command.Items.Count}";
    }
}
#endregion

#region projection-hook
public sealed partial class OrderSummaryProjection
{
    // Runs after the declared 'set:' of every event the projection applies, on the same row and in
    // the same transaction; keep it to the row (no I/O), since rebuilds run it again for every event.
    partial void OnApplied(OrderSummary row, EventEnvelope envelope)
    {
        row.Currency = row.Currency.ToUpperInvariant();
    }
}
#endregion

#region reaction-filter
public sealed partial class ShipOrderWhenShipmentArranged
{
    // The carrier's test shipments must not mark real orders shipped.
    partial void ShouldSkip(ShipmentArranged e, ref bool skip)
    {
        skip = e.TrackingNumber.StartsWith("TEST-", StringComparison.Ordinal);
    }
}
#endregion

#region saga-hooks
public sealed partial class OrderFulfilmentStateMachine
{
    // Called in the step's transaction: no I/O here; anything sent or published goes through the outbox.
    partial void OnCompensationFailed(OrderFulfilmentState saga, string step)
    {
        MassTransit.LogContext.Warning?.Log("Order {OrderId}: compensating {Step} failed; see platform sagas list --state CompensationFailed",
            saga.OrderId, step);
    }

    // A payment confirmed twice by the provider is harmless: keep it out of the dead letters even if
    // the saga declares onUnexpected: deadLetter.
    partial void OnUnexpectedEvent(MassTransit.UnhandledEventContext<OrderFulfilmentState> context, ref bool deadLetter)
    {
        if (context.Event.Name == nameof(Shop.Payments.PaymentCharged))
            deadLetter = false;
    }
}
#endregion
