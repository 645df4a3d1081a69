// The service code of docs/guides/writing-a-saga.md: a payment service that answers the
// OrderFulfilment saga's commands, and the registration that hosts the saga and routes its commands.
// GuideExamples compiles it against the Orders example's generated code (Shop.Orders.dll).
using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Platform.Runtime.Configuration;
using Shop.Inventory;
using Shop.Orders;
using Shop.Payments;

namespace Shop.Fulfilment;

#region payment-service
/// <summary>
/// An ordinary MassTransit consumer: it answers a command by publishing the reply event the saga
/// waits for. Delivery is at least once, so it acts once per command message id and answers a
/// redelivery with the same reply.
/// </summary>
public sealed class PaymentService : IConsumer<ChargePayment>, IConsumer<RefundPayment>
{
    static readonly ConcurrentDictionary<Guid, object> Replies = new();

    public Task Consume(ConsumeContext<ChargePayment> context) => ReplyOnce(context, charge =>
        charge.Amount > 10_000m
            ? new PaymentFailed(charge.OrderId, "amount above the card limit")
            : new PaymentCharged(charge.OrderId, Guid.NewGuid(), charge.Amount));

    public Task Consume(ConsumeContext<RefundPayment> context) => ReplyOnce(context, refund =>
        new PaymentRefunded(refund.OrderId, refund.PaymentId));

    static Task ReplyOnce<TCommand>(ConsumeContext<TCommand> context, Func<TCommand, object> act) where TCommand : class
    {
        var reply = Replies.GetOrAdd(context.MessageId ?? throw new InvalidOperationException("a command without a message id"),
            _ => act(context.Message));
        return context.Publish(reply, reply.GetType(), context.CancellationToken);
    }
}
#endregion

public static class FulfilmentHost
{
    public static IServiceCollection AddFulfilment(this IServiceCollection services, string connectionString)
    {
        #region registration
        services.AddPlatform(cfg =>
        {
            cfg.UseSqlite(connectionString).AddDomain(typeof(OrdersDomain));   // the saga, its state machine and timeouts
            // The payment service, hosted here on a queue of its own; the saga's payment commands go there.
            cfg.AddMessageConsumer<PaymentService>();   // its inbox and replies in one transaction, commands at once
            var payments = new Uri("queue:" + cfg.EventQueueName(typeof(PaymentService)));
            cfg.Sagas.Route<ChargePayment>(payments).Route<RefundPayment>(payments);
            // Another team's service, listening on its own queue.
            cfg.Sagas.Route<ReserveInventory>(new Uri("queue:inventory")).Route<ReleaseInventory>(new Uri("queue:inventory"))
                .Route<ArrangeShipment>(new Uri("queue:shipping"));
            // Replaces the step's 1m from the YAML in this deployment.
            cfg.Sagas.Timeouts["OrderFulfilmentInventoryTimeout"] = TimeSpan.FromMinutes(5);
        });
        #endregion
        return services;
    }
}
