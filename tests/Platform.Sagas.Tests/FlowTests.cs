using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Platform.EventStore.Storage;
using Platform.Runtime.Sagas;
using Shop.Orders;
using Xunit;

namespace Platform.Sagas.Tests;

/// <summary>Records the alert the generated saga publishes when a compensation fails.</summary>
public sealed class AlertRecorder : IConsumer<OrderFulfilmentCompensationFailed>
{
    public static readonly ConcurrentDictionary<Guid, OrderFulfilmentCompensationFailed> Alerts = new();

    public Task Consume(ConsumeContext<OrderFulfilmentCompensationFailed> context)
    {
        Alerts[context.Message.CorrelationId] = context.Message;
        return Task.CompletedTask;
    }
}

/// <summary>The seed's flow through the generated OrderFulfilment saga, on SQLite/in-memory and PostgreSQL/RabbitMQ.</summary>
public sealed class FlowTests
{
    public static TheoryData<Store, Transport> Matrix => new()
    {
        { Store.Sqlite, Transport.InMemory }, { Store.Postgres, Transport.RabbitMq }, { Store.Postgres, Transport.Kafka },
    };

    [SkippableTheory]
    [MemberData(nameof(Matrix))]
    public async Task an_order_is_paid_reserved_and_shipped_and_the_reaction_marks_it_shipped(Store store, Transport transport)
    {
        await using var database = await TestDatabase.CreateAsync(store, "sagas");
        await using var host = await SagaHost.StartAsync(database, transport);
        var order = Guid.NewGuid();
        await host.PlaceAsync(order, 1);

        await Eventually.HoldsAsync(async () => await host.StateOfAsync(order) == "Completed", "the saga to complete",
            state: async () => "state " + await host.StateOfAsync(order));
        var saga = (await host.Operations.GetAsync(order)).Single();
        Assert.Equal(["Initial?", "AwaitingPayment", "AwaitingInventory", "AwaitingShipment", "Completed"],
            saga.History.Select(h => h.FromState ?? "Initial?").Append(saga.History[^1].ToState));
        Assert.Equal(["OrderPlaced", "PaymentCharged", "InventoryReserved", "ShipmentArranged"], saga.History.Select(h => h.MessageType));
        Assert.Empty(saga.Waiting); // every step and saga timeout was cancelled with its step
        Assert.Equal(1, host.Ledger.Charges[order]);
        Assert.Equal(1, host.Ledger.Reservations[order]);
        Assert.Equal(1, host.Ledger.Shipments[order]);
        Assert.False(host.Ledger.Refunds.ContainsKey(order));

        // Choreography: the generated reaction sent ShipOrder to the runtime's command queue.
        var events = host.Services.GetRequiredService<SqlEventStore>();
        await Eventually.HoldsAsync(async () => await events.GetStreamVersionAsync(order.ToString("D")) == 3, "the order to be shipped by the reaction",
            state: async () => $"stream version {await events.GetStreamVersionAsync(order.ToString("D"))}; " +
                $"logged: {string.Join(" | ", host.Logs.Entries.Take(5))}");
    }

    [SkippableTheory]
    [MemberData(nameof(Matrix))]
    public async Task inventory_unavailable_refunds_the_payment_and_ends_compensated(Store store, Transport transport)
    {
        await using var database = await TestDatabase.CreateAsync(store, "sagas");
        await using var host = await SagaHost.StartAsync(database, transport);
        var order = Guid.NewGuid();
        host.Ledger.NoStock = id => id == order;
        await host.PlaceAsync(order, 2);

        await Eventually.HoldsAsync(async () => await host.StateOfAsync(order) == "Compensated", "the saga to be compensated",
            state: async () => "state " + await host.StateOfAsync(order));
        var saga = (await host.Operations.GetAsync(order)).Single();
        Assert.Equal(["OrderPlaced", "PaymentCharged", "InventoryUnavailable", "PaymentRefunded"], saga.History.Select(h => h.MessageType));
        Assert.Contains("\"failureReason\":\"InventoryUnavailable\"", saga.Instance.Data);
        Assert.Contains("\"paymentCompensation\":\"PaymentRefunded\"", saga.Instance.Data);
        Assert.Equal(1, host.Ledger.Charges[order]);
        Assert.Equal(1, host.Ledger.Refunds[order]);
        Assert.False(host.Ledger.Shipments.ContainsKey(order));
        Assert.Empty(saga.Waiting);
    }

    [SkippableTheory]
    [MemberData(nameof(Matrix))]
    public async Task a_declined_payment_ends_compensated_with_nothing_to_undo(Store store, Transport transport)
    {
        await using var database = await TestDatabase.CreateAsync(store, "sagas");
        await using var host = await SagaHost.StartAsync(database, transport);
        var order = Guid.NewGuid();
        host.Ledger.DeclinePayment = id => id == order;
        await host.PlaceAsync(order, 3);

        await Eventually.HoldsAsync(async () => await host.StateOfAsync(order) == "Compensated", "the saga to end",
            state: async () => "state " + await host.StateOfAsync(order));
        var saga = (await host.Operations.GetAsync(order)).Single();
        Assert.Equal(["OrderPlaced", "PaymentFailed"], saga.History.Select(h => h.MessageType));
        Assert.False(host.Ledger.Charges.ContainsKey(order));
        Assert.False(host.Ledger.Refunds.ContainsKey(order));
        Assert.False(host.Ledger.Reservations.ContainsKey(order));
        Assert.Empty(saga.Waiting);
    }

    [SkippableTheory]
    [MemberData(nameof(Matrix))]
    public async Task an_inventory_step_that_times_out_refunds_the_payment(Store store, Transport transport)
    {
        await using var database = await TestDatabase.CreateAsync(store, "sagas");
        await using var host = await SagaHost.StartAsync(database, transport,
            configure: cfg => cfg.Sagas.Timeouts["OrderFulfilmentInventoryTimeout"] = TimeSpan.FromSeconds(1));
        var order = Guid.NewGuid();
        host.Ledger.IgnoreReservation = id => id == order;
        await host.PlaceAsync(order, 4);

        await Eventually.HoldsAsync(async () => await host.StateOfAsync(order) == "AwaitingInventory", "the inventory step");
        var waiting = (await host.Operations.GetAsync(order)).Single().Waiting;
        Assert.Contains(waiting, m => m.MessageType.StartsWith(typeof(OrderFulfilmentInventoryTimeout).FullName + ",", StringComparison.Ordinal));

        await Eventually.HoldsAsync(async () => await host.StateOfAsync(order) == "Compensated", "the timeout to compensate the saga",
            state: async () => "state " + await host.StateOfAsync(order));
        var saga = (await host.Operations.GetAsync(order)).Single();
        Assert.Equal(["OrderPlaced", "PaymentCharged", "OrderFulfilmentInventoryTimeout", "PaymentRefunded"], saga.History.Select(h => h.MessageType));
        Assert.Contains("\"failureReason\":\"Inventory timed out\"", saga.Instance.Data);
        Assert.Equal(1, host.Ledger.Refunds[order]);
        Assert.Empty(saga.Waiting);
    }

    [SkippableTheory]
    [MemberData(nameof(Matrix))]
    public async Task a_refund_that_keeps_failing_ends_in_compensation_failed_with_an_alert_and_a_retry_after_the_fix_compensates(Store store, Transport transport)
    {
        await using var database = await TestDatabase.CreateAsync(store, "sagas");
        await using var host = await SagaHost.StartAsync(database, transport, configure: cfg => cfg.AddEventConsumer<AlertRecorder>());
        var order = Guid.NewGuid();
        var refundBroken = true;
        host.Ledger.NoStock = id => id == order;
        host.Ledger.FailRefund = id => id == order && refundBroken;
        await host.PlaceAsync(order, 5);

        await Eventually.HoldsAsync(async () => await host.StateOfAsync(order) == "CompensationFailed", "the compensation to fail",
            state: async () => "state " + await host.StateOfAsync(order));
        await Eventually.HoldsAsync(() => Task.FromResult(AlertRecorder.Alerts.ContainsKey(order)), "the alert event");
        Assert.Equal("Payment", AlertRecorder.Alerts[order].Step);
        Assert.Contains(await host.Operations.ListAsync("CompensationFailed"), s => s.CorrelationId == order);
        Assert.False(host.Ledger.Refunds.ContainsKey(order));

        refundBroken = false;
        var (state, messages, timeouts) = await host.Operations.RetryAsync(order);
        Assert.Equal("CompensatingPayment", state);
        Assert.Equal((1, 1), (messages, timeouts)); // RefundPayment, and the compensation's timeout
        await Eventually.HoldsAsync(async () => await host.StateOfAsync(order) == "Compensated", "the retried compensation to finish",
            state: async () => "state " + await host.StateOfAsync(order));
        Assert.Equal(1, host.Ledger.Refunds[order]);
        Assert.DoesNotContain(await host.Operations.ListAsync("CompensationFailed"), s => s.CorrelationId == order);
        var history = (await host.Operations.GetAsync(order)).Single().History;
        Assert.Equal(["OrderPlaced", "PaymentCharged", "InventoryUnavailable", "RefundFailed", "operator:retry", "PaymentRefunded"],
            history.Select(h => h.MessageType));
    }

    // The refund request is lost: without the compensation's timeout the saga waited in
    // CompensatingPayment forever and no alert was raised.
    [SkippableTheory]
    [MemberData(nameof(Matrix))]
    public async Task a_refund_whose_reply_never_comes_times_out_into_compensation_failed_with_an_alert(Store store, Transport transport)
    {
        await using var database = await TestDatabase.CreateAsync(store, "sagas");
        await using var host = await SagaHost.StartAsync(database, transport, configure: cfg =>
        {
            cfg.AddEventConsumer<AlertRecorder>();
            cfg.Sagas.Timeouts["OrderFulfilmentPaymentCompensationTimeout"] = TimeSpan.FromSeconds(1);
        });
        var order = Guid.NewGuid();
        host.Ledger.NoStock = id => id == order;
        host.Ledger.IgnoreRefund = id => id == order;
        await host.PlaceAsync(order, 7);

        await Eventually.HoldsAsync(async () => await host.StateOfAsync(order) == "CompensationFailed", "the compensation to time out",
            state: async () => "state " + await host.StateOfAsync(order));
        await Eventually.HoldsAsync(() => Task.FromResult(AlertRecorder.Alerts.ContainsKey(order)), "the alert event");
        Assert.Equal(("Payment", "Payment compensation timed out"), (AlertRecorder.Alerts[order].Step, AlertRecorder.Alerts[order].Reason));
        var saga = (await host.Operations.GetAsync(order)).Single();
        Assert.Equal(["OrderPlaced", "PaymentCharged", "InventoryUnavailable", "OrderFulfilmentPaymentCompensationTimeout"], saga.History.Select(h => h.MessageType));
        Assert.Contains("\"paymentCompensation\":\"timed out\"", saga.Instance.Data);
        // The saga's own timeout was cancelled with it. The fired compensation timeout's row goes
        // once its delivery batch commits, which can be after the saga handled it.
        await Eventually.HoldsAsync(async () => (await host.Operations.GetAsync(order)).Single().Waiting.Count == 0, "nothing left waiting for the saga",
            state: async () => string.Join(", ", (await host.Operations.GetAsync(order)).Single().Waiting.Select(w => w.MessageType)));

        // A retry while the provider still does not answer is bounded by the timeout again; one
        // after it answers again compensates.
        var (state, messages, timeouts) = await host.Operations.RetryAsync(order);
        Assert.Equal(("CompensatingPayment", 1, 1), (state, messages, timeouts));
        await Eventually.HoldsAsync(async () => (await host.Operations.GetAsync(order)).Single().History.Count(h => h.MessageType == "OrderFulfilmentPaymentCompensationTimeout") == 2,
            "the retried compensation to time out", state: async () => "state " + await host.StateOfAsync(order));
        await Eventually.HoldsAsync(async () => await host.StateOfAsync(order) == "CompensationFailed", "the retried compensation to fail");
        host.Ledger.IgnoreRefund = _ => false;
        await host.Operations.RetryAsync(order);
        await Eventually.HoldsAsync(async () => await host.StateOfAsync(order) == "Compensated", "the second retry to compensate",
            state: async () => "state " + await host.StateOfAsync(order));
        Assert.Equal(1, host.Ledger.Refunds[order]);
        Assert.Empty((await host.Operations.GetAsync(order)).Single().Waiting); // the answered compensation cancelled its timeout
    }

    // An operator who resolves a waiting saga has taken over: its step timeout firing later would
    // compensate (refund) what the operator settled by hand.
    [SkippableFact]
    public async Task resolving_a_waiting_saga_cancels_its_timeouts()
    {
        await using var database = await TestDatabase.CreateAsync(Store.Sqlite, "sagas");
        await using var host = await SagaHost.StartAsync(database, Transport.InMemory,
            configure: cfg => cfg.Sagas.Timeouts["OrderFulfilmentInventoryTimeout"] = TimeSpan.FromSeconds(1));
        var order = Guid.NewGuid();
        host.Ledger.IgnoreReservation = id => id == order;
        await host.PlaceAsync(order, 8);
        await Eventually.HoldsAsync(async () => await host.StateOfAsync(order) == "AwaitingInventory", "the inventory step");

        Assert.Equal(2, await host.Operations.ResolveAsync(order, "reserved by hand in the warehouse")); // the step's and the saga's
        await Task.Delay(TimeSpan.FromSeconds(3)); // past the step's timeout
        var saga = (await host.Operations.GetAsync(order)).Single();
        Assert.Equal("AwaitingInventory", saga.Instance.CurrentState);
        Assert.Empty(saga.Waiting);
        Assert.False(host.Ledger.Refunds.ContainsKey(order));
        Assert.DoesNotContain(saga.History, h => h.MessageType == "OrderFulfilmentInventoryTimeout");

        // The warehouse's late answer reaches a saga the operator settled: recorded, not applied
        // (it would have sent ArrangeShipment).
        await host.Services.GetRequiredService<IBus>().Publish(new Shop.Inventory.InventoryReserved(order, Guid.NewGuid()));
        await Eventually.HoldsAsync(() => Task.FromResult(host.Logs.Entries.Any(e => e.Contains("was resolved by an operator", StringComparison.Ordinal))),
            "the late reply to be set aside");
        saga = (await host.Operations.GetAsync(order)).Single();
        Assert.Equal(("AwaitingInventory", "operator:resolve"), (saga.Instance.CurrentState, saga.History[^1].MessageType));
        Assert.False(host.Ledger.Shipments.ContainsKey(order));
    }

    [SkippableFact]
    public async Task an_event_the_current_state_does_not_handle_is_logged_with_saga_and_state_and_ignored()
    {
        await using var database = await TestDatabase.CreateAsync(Store.Sqlite, "sagas");
        await using var host = await SagaHost.StartAsync(database, Transport.InMemory);
        var order = Guid.NewGuid();
        await host.PlaceAsync(order, 6);
        await Eventually.HoldsAsync(async () => await host.StateOfAsync(order) == "Completed", "the saga to complete");

        // A late duplicate reply with a new message id (so the inbox does not catch it) reaches a completed saga.
        await host.Services.GetRequiredService<IBus>().Publish(new Shop.Payments.PaymentFailed(order, "late reply"));
        await Eventually.HoldsAsync(() => Task.FromResult(host.Logs.Entries.Any(e => e.Contains(order.ToString("D"), StringComparison.Ordinal))),
            "the unexpected event to be logged", TimeSpan.FromSeconds(10), async () => string.Join(" | ", host.Logs.Entries) + " history: " + string.Join(",", (await host.Operations.GetAsync(order)).Single().History.Select(h => h.MessageType)));
        var entry = host.Logs.Entries.First(e => e.Contains(order.ToString("D"), StringComparison.Ordinal));
        Assert.Contains("PaymentFailed arrived in state Completed, which does not handle it; ignored", entry);
        Assert.Equal("Completed", await host.StateOfAsync(order));
        Assert.Empty(await new Platform.Runtime.DeadLetters.DeadLetterStore(database.Provider(), database.ConnectionString).ListAsync());
    }

    [SkippableTheory]
    [MemberData(nameof(Matrix))]
    public async Task a_timeout_scheduled_before_a_restart_fires_after_it(Store store, Transport transport)
    {
        await using var database = await TestDatabase.CreateAsync(store, "sagas");
        var ledger = new ServiceLedger();
        var order = Guid.NewGuid();
        ledger.IgnoreReservation = id => id == order;
        var prefix = "sg-" + Guid.NewGuid().ToString("N")[..12];
        void Configure(Platform.Runtime.Configuration.PlatformOptions cfg) => cfg.Sagas.Timeouts["OrderFulfilmentInventoryTimeout"] = TimeSpan.FromSeconds(4);

        await using (var first = await SagaHost.StartAsync(database, transport, ledger, Configure, prefix))
        {
            await first.PlaceAsync(order, 7);
            await Eventually.HoldsAsync(async () => await first.StateOfAsync(order) == "AwaitingInventory", "the inventory step");
        } // stopped with the inventory timeout still in scheduled_messages

        var waiting = (await new SagaOperations(database.Provider(), database.ConnectionString).GetAsync(order)).Single().Waiting;
        Assert.Contains(waiting, m => m.MessageType.StartsWith(typeof(OrderFulfilmentInventoryTimeout).FullName + ",", StringComparison.Ordinal));
        Assert.Equal("AwaitingInventory", (await new SagaOperations(database.Provider(), database.ConnectionString).GetAsync(order)).Single().Instance.CurrentState);

        await using var second = await SagaHost.StartAsync(database, transport, ledger, Configure, prefix);
        await Eventually.HoldsAsync(async () => await second.StateOfAsync(order) == "Compensated", "the timeout to fire in the restarted runtime",
            state: async () => "state " + await second.StateOfAsync(order));
        var saga = (await second.Operations.GetAsync(order)).Single();
        Assert.Contains("OrderFulfilmentInventoryTimeout", saga.History.Select(h => h.MessageType));
        Assert.Equal(1, ledger.Refunds[order]);
    }

    [SkippableTheory]
    [MemberData(nameof(Matrix))]
    public async Task the_saga_timeout_compensates_a_saga_whose_steps_take_too_long_in_total(Store store, Transport transport)
    {
        await using var database = await TestDatabase.CreateAsync(store, "sagas");
        await using var host = await SagaHost.StartAsync(database, transport, configure: cfg =>
        {
            SagaHost.LongTimeouts(cfg);
            // The whole saga, not one step. Long enough for the payment step to finish first on
            // every transport: on Kafka, with the whole suite running, its command and reply once
            // took over 2 s (consumer groups still joining), and the saga timed out before it.
            cfg.Sagas.Timeouts["OrderFulfilmentTimeout"] = TimeSpan.FromSeconds(6);
        });
        var order = Guid.NewGuid();
        host.Ledger.IgnoreReservation = id => id == order;
        await host.PlaceAsync(order, 8);

        await Eventually.HoldsAsync(async () => await host.StateOfAsync(order) == "Compensated", "the saga timeout to compensate",
            state: async () => "state " + await host.StateOfAsync(order));
        var saga = (await host.Operations.GetAsync(order)).Single();
        Assert.Equal(["OrderPlaced", "PaymentCharged", "OrderFulfilmentTimeout", "PaymentRefunded"], saga.History.Select(h => h.MessageType));
        Assert.Contains("\"failureReason\":\"OrderFulfilment timed out\"", saga.Instance.Data);
        Assert.Equal(1, host.Ledger.Refunds[order]);
        Assert.Empty(saga.Waiting); // the inventory step's own timeout was cancelled with it
    }
}
