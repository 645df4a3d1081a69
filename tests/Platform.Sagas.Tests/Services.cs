using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using MassTransit;
using Shop.Inventory;
using Shop.Payments;

namespace Platform.Sagas.Tests;

/// <summary>
/// What the hand-written payment and inventory services did, and how they are told to fail. Each
/// service is idempotent by command message id (as a real one must be, since delivery is at least
/// once): a command seen before gets the same reply again and no second side effect. Side effects
/// are counted per order so a test can assert none happened twice.
/// </summary>
public sealed class ServiceLedger
{
    readonly ConcurrentDictionary<Guid, object> _replies = new();

    public ConcurrentDictionary<Guid, int> Charges { get; } = new();
    public ConcurrentDictionary<Guid, int> Refunds { get; } = new();
    public ConcurrentDictionary<Guid, int> Reservations { get; } = new();
    public ConcurrentDictionary<Guid, int> Releases { get; } = new();
    public ConcurrentDictionary<Guid, int> Shipments { get; } = new();

    /// <summary>Orders whose payment is declined.</summary>
    public Func<Guid, bool> DeclinePayment { get; set; } = _ => false;

    /// <summary>Orders whose refund fails (while this returns true).</summary>
    public Func<Guid, bool> FailRefund { get; set; } = _ => false;

    /// <summary>Orders with no stock.</summary>
    public Func<Guid, bool> NoStock { get; set; } = _ => false;

    /// <summary>Orders whose reservation request is never answered (the step times out).</summary>
    public Func<Guid, bool> IgnoreReservation { get; set; } = _ => false;

    /// <summary>Orders whose refund request is never answered (the compensation times out).</summary>
    public Func<Guid, bool> IgnoreRefund { get; set; } = _ => false;

    /// <summary>Publish every reply twice with the same message id (a redelivery).</summary>
    public bool ReplyTwice { get; set; }

    public int CommandsReceived;
    public int DuplicateCommands;

    // Orders a test is still placing (PlaceOrder, then ConfirmOrder): their shipment waits until
    // they are confirmed, as a warehouse ships confirmed orders only. Without it, on a loaded machine
    // (SQLite's busy retries sleep while other writers go on) a saga completed before the test's
    // ConfirmOrder landed, and the reaction's ShipOrder was refused for an order still Placed.
    readonly ConcurrentDictionary<Guid, TaskCompletionSource> _placing = new();

    internal void Placing(Guid order) => _placing.TryAdd(order, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    internal void Placed(Guid order)
    {
        if (_placing.TryRemove(order, out var gate))
            gate.TrySetResult();
    }

    readonly TaskCompletionSource _shipmentsReleased = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Orders whose shipment is held until <see cref="ReleaseShipments"/>: sagas a test needs still running.</summary>
    public Func<Guid, bool> HoldShipment { get; set; } = _ => false;

    public void ReleaseShipments() => _shipmentsReleased.TrySetResult();

    internal Task UntilShipmentReleasedAsync(Guid order, CancellationToken cancellationToken) =>
        HoldShipment(order) ? _shipmentsReleased.Task.WaitAsync(cancellationToken) : Task.CompletedTask;

    internal Task UntilPlacedAsync(Guid order, CancellationToken cancellationToken) =>
        _placing.TryGetValue(order, out var gate) ? gate.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken) : Task.CompletedTask;

    internal async Task HandleAsync<TCommand>(ConsumeContext<TCommand> context, Func<TCommand, (object Reply, ConcurrentDictionary<Guid, int>? Effect, Guid Order)> act)
        where TCommand : class
    {
        Interlocked.Increment(ref CommandsReceived);
        var commandId = context.MessageId ?? throw new InvalidOperationException("command without a message id");
        object reply;
        if (_replies.TryGetValue(commandId, out var earlier))
        {
            Interlocked.Increment(ref DuplicateCommands);
            reply = earlier;
        }
        else
        {
            var (result, effect, order) = act(context.Message);
            if (!_replies.TryAdd(commandId, result))
            {
                Interlocked.Increment(ref DuplicateCommands);
                reply = _replies[commandId];
            }
            else
            {
                reply = result;
                if (effect is not null)
                    effect.AddOrUpdate(order, 1, (_, n) => n + 1);
            }
        }
        if (reply is NoReply)
            return;
        var replyId = DerivedId(commandId);
        for (var i = 0; i < (ReplyTwice ? 2 : 1); i++)
            await context.Publish(reply, reply.GetType(), Pipe.Execute<PublishContext>(p => p.MessageId = replyId), context.CancellationToken);
    }

    static Guid DerivedId(Guid commandId) =>
        new(SHA256.HashData(Encoding.UTF8.GetBytes("reply:" + commandId.ToString("D"))).AsSpan(0, 16));

    internal sealed record NoReply;
}

/// <summary>The payment service: charges and refunds.</summary>
public sealed class PaymentService(ServiceLedger ledger) : IConsumer<ChargePayment>, IConsumer<RefundPayment>
{
    public Task Consume(ConsumeContext<ChargePayment> context) => ledger.HandleAsync(context, command =>
        ledger.DeclinePayment(command.OrderId)
            ? (new PaymentFailed(command.OrderId, "card declined"), null, command.OrderId)
            : (new PaymentCharged(command.OrderId, Guid.NewGuid(), command.Amount), ledger.Charges, command.OrderId));

    public Task Consume(ConsumeContext<RefundPayment> context) => ledger.HandleAsync(context, command =>
        ledger.IgnoreRefund(command.OrderId)
            ? (new ServiceLedger.NoReply(), null, command.OrderId)
            : ledger.FailRefund(command.OrderId)
                ? (new RefundFailed(command.OrderId, command.PaymentId, "payment provider unavailable"), null, command.OrderId)
                : (new PaymentRefunded(command.OrderId, command.PaymentId), ledger.Refunds, command.OrderId));
}

/// <summary>The inventory service: reservations, releases and shipments.</summary>
public sealed class InventoryService(ServiceLedger ledger) : IConsumer<ReserveInventory>, IConsumer<ReleaseInventory>, IConsumer<ArrangeShipment>
{
    public Task Consume(ConsumeContext<ReserveInventory> context) => ledger.HandleAsync(context, command =>
        ledger.IgnoreReservation(command.OrderId)
            ? (new ServiceLedger.NoReply(), null, command.OrderId)
            : ledger.NoStock(command.OrderId)
                ? (new InventoryUnavailable(command.OrderId, command.Items.FirstOrDefault()?.ProductId ?? "?"), null, command.OrderId)
                : (new InventoryReserved(command.OrderId, Guid.NewGuid()), ledger.Reservations, command.OrderId));

    public Task Consume(ConsumeContext<ReleaseInventory> context) => ledger.HandleAsync(context, command =>
        (new InventoryReleased(command.OrderId, command.ReservationId), ledger.Releases, command.OrderId));

    public async Task Consume(ConsumeContext<ArrangeShipment> context)
    {
        await ledger.UntilShipmentReleasedAsync(context.Message.OrderId, context.CancellationToken);
        await ledger.UntilPlacedAsync(context.Message.OrderId, context.CancellationToken);
        await ledger.HandleAsync(context, command =>
            (new ShipmentArranged(command.OrderId, "TRACK-" + command.OrderId.ToString("N")[..8]), ledger.Shipments, command.OrderId));
    }
}
