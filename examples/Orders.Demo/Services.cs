using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using MassTransit;
using Shop.Inventory;
using Shop.Payments;

namespace Shop.Orders.Demo;

/// <summary>
/// Which orders the demo's services fail and which customers cancel, decided from the seed and the
/// order id alone, so a run with the same seed fails and cancels the same orders whatever order the
/// messages arrive in.
/// </summary>
sealed record FailurePlan(int Seed, double Payment, double Inventory, double Refund, double Cancel)
{
    public bool Cancels(Guid orderId) => Fails(orderId, "cancel", Cancel);

    public bool Fails(Guid orderId, string what, double rate)
    {
        if (rate <= 0)
            return false;
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{Seed}:{what}:{orderId:D}"));
        return BitConverter.ToUInt32(hash, 0) / (double)uint.MaxValue < rate;
    }
}

/// <summary>
/// What the services did. Delivery is at least once, so each service is idempotent by the command's
/// message id: a command seen before gets the same reply again (same reply message id) and no
/// second side effect.
/// </summary>
sealed class ServiceLedger(FailurePlan plan)
{
    readonly ConcurrentDictionary<Guid, Lazy<object>> _replies = new();

    public FailurePlan Plan { get; } = plan;

    public int Charges, Declines, Refunds, RefundFailures, Reservations, OutOfStock, Releases, Shipments, Duplicates;

    // The warehouse ships confirmed orders only. The saga starts on OrderPlaced and the customer
    // confirms afterwards; on a loaded machine a saga could otherwise reach its shipment (and the
    // reaction's ShipOrder be refused, the order still Placed) before the confirmation landed.
    readonly ConcurrentDictionary<Guid, TaskCompletionSource> _confirmed = new();

    TaskCompletionSource Confirmation(Guid order) =>
        _confirmed.GetOrAdd(order, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>The customer's confirmation of an order reached the warehouse.</summary>
    public void Confirmed(Guid order) => Confirmation(order).TrySetResult();

    /// <summary>Waits, at most a minute, for an order's confirmation.</summary>
    public Task UntilConfirmedAsync(Guid order, CancellationToken cancellationToken) =>
        Confirmation(order).Task.WaitAsync(TimeSpan.FromMinutes(1), cancellationToken);

    public async Task ReplyOnceAsync<TCommand>(ConsumeContext<TCommand> context, Func<TCommand, object> act) where TCommand : class
    {
        var commandId = context.MessageId ?? throw new InvalidOperationException($"{typeof(TCommand).Name} without a message id");
        // Lazy: two deliveries of one command at the same time still act once.
        var candidate = new Lazy<object>(() => act(context.Message));
        var entry = _replies.GetOrAdd(commandId, candidate);
        if (!ReferenceEquals(entry, candidate))
            Interlocked.Increment(ref Duplicates);
        var reply = entry.Value;
        var replyId = new Guid(SHA256.HashData(Encoding.UTF8.GetBytes("reply:" + commandId.ToString("D"))).AsSpan(0, 16));
        await context.Publish(reply, reply.GetType(), Pipe.Execute<PublishContext>(p => p.MessageId = replyId), context.CancellationToken);
    }
}

/// <summary>The payment service: charges (declined at the plan's rate) and refunds (failing at its refund rate).</summary>
sealed class PaymentService(ServiceLedger ledger) : IConsumer<ChargePayment>, IConsumer<RefundPayment>
{
    public Task Consume(ConsumeContext<ChargePayment> context) => ledger.ReplyOnceAsync(context, command =>
    {
        if (ledger.Plan.Fails(command.OrderId, "payment", ledger.Plan.Payment))
        {
            Interlocked.Increment(ref ledger.Declines);
            return new PaymentFailed(command.OrderId, "card declined");
        }
        Interlocked.Increment(ref ledger.Charges);
        return new PaymentCharged(command.OrderId, Guid.NewGuid(), command.Amount);
    });

    public Task Consume(ConsumeContext<RefundPayment> context) => ledger.ReplyOnceAsync(context, command =>
    {
        if (ledger.Plan.Fails(command.OrderId, "refund", ledger.Plan.Refund))
        {
            Interlocked.Increment(ref ledger.RefundFailures);
            return new RefundFailed(command.OrderId, command.PaymentId, "payment provider unavailable");
        }
        Interlocked.Increment(ref ledger.Refunds);
        return new PaymentRefunded(command.OrderId, command.PaymentId);
    });
}

/// <summary>The inventory service: reservations (out of stock at the plan's rate), releases and shipments.</summary>
sealed class InventoryService(ServiceLedger ledger) : IConsumer<ReserveInventory>, IConsumer<ReleaseInventory>, IConsumer<ArrangeShipment>
{
    public Task Consume(ConsumeContext<ReserveInventory> context) => ledger.ReplyOnceAsync(context, command =>
    {
        if (ledger.Plan.Fails(command.OrderId, "inventory", ledger.Plan.Inventory))
        {
            Interlocked.Increment(ref ledger.OutOfStock);
            return new InventoryUnavailable(command.OrderId, command.Items.FirstOrDefault()?.ProductId ?? "?");
        }
        Interlocked.Increment(ref ledger.Reservations);
        return new InventoryReserved(command.OrderId, Guid.NewGuid());
    });

    public Task Consume(ConsumeContext<ReleaseInventory> context) => ledger.ReplyOnceAsync(context, command =>
    {
        Interlocked.Increment(ref ledger.Releases);
        return new InventoryReleased(command.OrderId, command.ReservationId);
    });

    public async Task Consume(ConsumeContext<ArrangeShipment> context)
    {
        await ledger.UntilConfirmedAsync(context.Message.OrderId, context.CancellationToken);
        await ledger.ReplyOnceAsync(context, command =>
        {
            Interlocked.Increment(ref ledger.Shipments);
            return new ShipmentArranged(command.OrderId, "TRACK-" + command.OrderId.ToString("N")[..8].ToUpperInvariant());
        });
    }
}
