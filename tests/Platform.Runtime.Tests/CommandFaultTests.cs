using System.Text;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Platform.Runtime.Commands;
using Platform.Runtime.DeadLetters;
using RabbitMQ.Client;
using Shop.Orders;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>
/// What faults past the dead-letter filter on RabbitMQ, and what no consumer takes: a rejected command is an answer and leaves
/// nothing behind; a message the endpoint cannot read becomes a dead letter with its body as it
/// came; neither goes to MassTransit's <c>_error</c> queue, unless the letter cannot be stored. On a broker node of the test's own, since
/// the queues must be durable to be looked into from another connection.
/// </summary>
[Collection(DedicatedBrokers.Collection)]
public sealed class CommandFaultTests(DedicatedBrokers brokers)
{
    [SkippableFact]
    public async Task a_rejected_command_leaves_nothing_behind_and_an_unreadable_one_is_dead_lettered_as_it_came_or_moved_to_the_error_queue_if_that_fails()
    {
        var broker = await brokers.GetAsync(Transport.RabbitMq);
        await using var database = await TestDatabase.CreateAsync(Store.Sqlite, "runtime");
        var prefix = "fault-" + Guid.NewGuid().ToString("N")[..12];
        await using var host = await RuntimeHost.StartOnAsync(database, Transport.RabbitMq, broker.Address, configure: cfg =>
        {
            cfg.Transport.QueuePrefix = prefix;
            cfg.Transport.AutoDeleteQueues = false;
        });
        var queue = host.Options.CommandQueueName;

        // Rejected: the second confirmation of one order. The caller gets the fault with the reason.
        var id = Guid.NewGuid();
        await host.Services.GetRequiredService<ICommandDispatcher>().DispatchAsync(Orders.Place(id, 1));
        var client = host.Bus.CreateRequestClient<ConfirmOrder>(host.Options.CommandAddress, RequestTimeout.After(s: 30));
        await client.GetResponse<CommandAccepted>(new ConfirmOrder(id));
        var fault = await Assert.ThrowsAsync<RequestFaultException>(() => client.GetResponse<CommandAccepted>(new ConfirmOrder(id)));
        Assert.Contains("rejected", fault.Message);

        // Unreadable: a body that is not JSON, and an envelope whose message is not a ConfirmOrder.
        var factory = new ConnectionFactory { Uri = broker.Address };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        async Task SendRawAsync(string body) => await channel.BasicPublishAsync("", queue, mandatory: true,
            new BasicProperties { ContentType = "application/vnd.masstransit+json", Persistent = true }, Encoding.UTF8.GetBytes(body));
        const string notJson = "{ this is not json";
        var badShapeId = Guid.NewGuid();
        var badShape = "{\"messageId\":\"" + badShapeId + "\",\"messageType\":[\"urn:message:Shop.Orders:ConfirmOrder\"],\"message\":{\"orderId\":42}}";
        await SendRawAsync(notJson);
        await SendRawAsync(badShape);

        var letters = host.Services.GetRequiredService<DeadLetterStore>();
        IReadOnlyList<DeadLetter> stored = [];
        await Eventually.HoldsAsync(async () => (stored = await letters.ListAsync()).Count == 2, "both unreadable messages to be dead-lettered",
            TimeSpan.FromSeconds(30), () => Task.FromResult($"{stored.Count} letters: " + string.Join("; ", stored.Select(l => l.ExceptionMessage))));
        Assert.All(stored, letter =>
        {
            Assert.Equal("commands", letter.Consumer);
            Assert.Equal(queue, letter.Endpoint);
            Assert.Equal(DeadLetterState.Dead, letter.State);
            Assert.False(string.IsNullOrEmpty(letter.ExceptionMessage));
        });
        var garbage = Assert.Single(stored, l => l.Payload == notJson);
        Assert.Equal(DeadLetter.UnknownMessageType, garbage.MessageType);
        var misshapen = Assert.Single(stored, l => l.Payload == badShape);
        Assert.Equal(("urn:message:Shop.Orders:ConfirmOrder", badShapeId.ToString("D")), (misshapen.MessageType, misshapen.MessageId));

        // Nothing went to the error queue: MassTransit declares it when it first moves a message there.
        var error = await QueueDepthAsync(connection, queue + "_error");
        Assert.True(error is null or 0, $"{error} messages in {queue}_error");

        // Such a letter cannot be replayed by this build: asked to, it goes back to Dead and stays listed.
        Assert.True(await letters.RequestReplayAsync(garbage.Id));
        await Eventually.HoldsAsync(async () => (await letters.GetAsync(garbage.Id))?.State == DeadLetterState.Dead,
            "the unreplayable letter to be Dead again", TimeSpan.FromSeconds(30));

        // When its letter cannot be stored, an unreadable message goes to the error queue: never lost.
        await Orders.ExecuteAsync(host.EventStore, "DROP TABLE message_dead_letters");
        const string lost = "{ neither json nor stored";
        await SendRawAsync(lost);
        await Eventually.HoldsAsync(async () => await QueueDepthAsync(connection, queue + "_error") == 1, "the message to reach the error queue",
            TimeSpan.FromSeconds(30));
        var moved = await channel.BasicGetAsync(queue + "_error", autoAck: true);
        Assert.Equal(lost, Encoding.UTF8.GetString(moved!.Body.Span));
    }

    [SkippableFact]
    public async Task a_message_no_consumer_of_its_endpoint_takes_is_dead_lettered_as_sent_and_replayed_by_its_type_urn()
    {
        var broker = await brokers.GetAsync(Transport.RabbitMq);
        await using var database = await TestDatabase.CreateAsync(Store.Sqlite, "runtime");
        var prefix = "skip-" + Guid.NewGuid().ToString("N")[..12];
        await using var host = await RuntimeHost.StartOnAsync(database, Transport.RabbitMq, broker.Address,
            services: services => services.AddSingleton<ObservationSink>(),
            configure: cfg =>
            {
                cfg.Transport.QueuePrefix = prefix;
                cfg.Transport.AutoDeleteQueues = false;
                cfg.AddEventConsumer<OrderEventRecorder>(); // an endpoint of this runtime takes OrderPlaced
            });
        var queue = host.Options.CommandQueueName;

        // An event sent to the command queue, as a client of a newer contract might send a new command:
        // no consumer there takes its type.
        var factory = new ConnectionFactory { Uri = broker.Address };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var messageId = Guid.NewGuid();
        const string message = "{\"customerId\":\"c-1\",\"items\":[{\"productId\":\"p-1\",\"quantity\":1,\"price\":\"9.5\"}],\"totalAmount\":\"9.5\",\"shippingAddress\":\"1 Main Street\",\"currency\":\"EUR\",\"shippingMethod\":\"STANDARD\"}";
        await channel.BasicPublishAsync("", queue, mandatory: true,
            new BasicProperties { ContentType = "application/vnd.masstransit+json", Persistent = true },
            Encoding.UTF8.GetBytes("{\"messageId\":\"" + messageId + "\",\"messageType\":[\"urn:message:Shop.Orders:OrderPlaced\"],\"message\":" + message + "}"));

        var letters = host.Services.GetRequiredService<DeadLetterStore>();
        IReadOnlyList<DeadLetter> stored = [];
        await Eventually.HoldsAsync(async () => (stored = await letters.ListAsync()).Count == 1, "the unconsumed message's dead letter", TimeSpan.FromSeconds(30));
        var letter = stored[0];
        Assert.Equal((queue, "commands", messageId.ToString("D"), "urn:message:Shop.Orders:OrderPlaced", typeof(UnconsumedMessageException).FullName, 0),
            (letter.Endpoint, letter.Consumer, letter.MessageId, letter.MessageType, letter.ExceptionType, letter.Attempts));
        Assert.Equal(System.Text.Json.JsonDocument.Parse(message).RootElement.GetRawText(), letter.Payload);
        var skipped = await QueueDepthAsync(connection, queue + "_skipped");
        Assert.True(skipped is null or 0, $"{skipped} messages in {queue}_skipped");

        // Replayed, it is found by its URN and sent as an OrderPlaced: to the same queue here, whose
        // consumers still do not take it, so it comes back as a new letter with the same message id.
        Assert.True(await letters.RequestReplayAsync(letter.Id));
        await Eventually.HoldsAsync(async () => (stored = await letters.ListAsync()).Count == 1 && stored[0].Id != letter.Id,
            "the replayed message's new letter", TimeSpan.FromSeconds(30), () => Task.FromResult(string.Join("; ", stored.Select(l => $"{l.Id} {l.State}"))));
        Assert.Equal((messageId.ToString("D"), "urn:message:Shop.Orders:OrderPlaced"), (stored[0].MessageId, stored[0].MessageType));
        using var replayed = System.Text.Json.JsonDocument.Parse(stored[0].Payload);
        Assert.Equal("STANDARD", replayed.RootElement.GetProperty("shippingMethod").GetString());
    }

    static async Task<uint?> QueueDepthAsync(IConnection connection, string queue)
    {
        // A passive declare of a missing queue closes the channel: ask on a channel of its own.
        await using var probe = await connection.CreateChannelAsync();
        try
        {
            return (await probe.QueueDeclarePassiveAsync(queue)).MessageCount;
        }
        catch (RabbitMQ.Client.Exceptions.OperationInterruptedException missing) when (missing.ShutdownReason?.ReplyCode == 404)
        {
            return null;
        }
    }
}
