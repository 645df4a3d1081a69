using System.Collections.Immutable;
using Microsoft.CodeAnalysis;
using Platform.Testing;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>
/// A reaction with <c>after:</c> (expire a hold left unreleased): its command is a scheduled message
/// written in the reaction's transaction and sent when due, to the aggregate, whose
/// <c>instead:</c> makes the expiry of a released hold change nothing; and one with <c>unless:</c>
/// (remind the holder of a hold not released), whose command a release cancels before it is due.
/// The reminder is sent on behalf of the user the hold was placed for: the reaction reads her
/// (<c>$meta.userId</c>) and the command it sends carries her to the events it causes. A release
/// handled late, after the hold was placed again, cancels only the first placing's reminder.
/// </summary>
public class DelayedReactionTorture
{
    const string Aggregate = """
        aggregate: Hold
        namespace: Shop.Holds
        id: { name: holdId, type: guid }
        state: { status: { enum: [Held, Released, Expired] } }
        commands:
          PlaceHold: { creates: true, emits: HoldPlaced }
          ReleaseHold: { when: { status: Held }, emits: HoldReleased }
          RenewHold: { when: { status: Released }, emits: HoldPlaced }
          RemindHold: { fields: { by: string? }, emits: HoldReminded }
          ExpireHold:
            emits: HoldExpired
            instead:
              - when: { status: { ne: Held } }
                emits: []
        events:
          HoldPlaced: { type: shop.holds.placed, apply: { status: Held } }
          HoldReleased: { type: shop.holds.released, apply: { status: Released } }
          HoldExpired: { type: shop.holds.expired, apply: { status: Expired } }
          HoldReminded: { type: shop.holds.reminded, fields: { by: string? } }
        """;

    const string Reactions = """
        namespace: Shop.Holds
        reactions:
          ExpireUnreleasedHold:
            when: HoldPlaced
            after: 2s
            send: ExpireHold
          RemindHolder:
            when: HoldPlaced
            after: 1s
            send: RemindHold
            with: { by: $meta.userId }
            unless: HoldReleased
        """;

    static ImmutableArray<AdditionalText> Texts => ImmutableArray.Create<AdditionalText>(
        new GeneratorHarness.InMemoryText("holds/hold.yaml", Aggregate),
        new GeneratorHarness.InMemoryText("holds/reactions.yaml", Reactions));

    const string Service = """
        using MassTransit;
        using Microsoft.Extensions.DependencyInjection;
        using Platform.Events;
        using Platform.Messaging;
        using Platform.Runtime.Commands;
        using Platform.Runtime.Configuration;
        using Platform.Testing;
        using Platform.Torture;

        namespace Shop.Holds.Run;

        public static class HoldRun
        {
            public static async Task<IReadOnlyList<string>> RunAsync(bool postgres, string connectionString, Guid kept, Guid[] released, string rabbitMq,
                KafkaMockCluster? kafka)
            {
                var host = Hosted.Build(postgres, connectionString, typeof(HoldsDomain), cfg =>
                {
                    cfg.Transport.QueuePrefix = "holds-" + Guid.NewGuid().ToString("N")[..8];
                    if (rabbitMq.Length > 0) cfg.UseRabbitMq(new Uri(rabbitMq));
                    if (kafka is not null)
                    {
                        cfg.UseKafka(kafka.BootstrapServers);
                        cfg.Transport.Kafka.CreateTopics = false;
                        cfg.Transport.Kafka.GroupProtocol = Confluent.Kafka.GroupProtocol.Consumer;
                        cfg.Transport.Kafka.CommitInterval = TimeSpan.FromMilliseconds(200);
                    }
                });
                if (kafka is not null)
                {
                    // The mock cluster has no CreateTopics: the topics the runtime's groups read, made first.
                    kafka.CreateTopic("events.hold", partitions: 4, replicationFactor: 3);
                    foreach (var topic in Platform.Runtime.Kafka.KafkaTopology.MessageTopicsRead(host.Services.GetRequiredService<PlatformOptions>()))
                        kafka.CreateTopic(topic, partitions: 4, replicationFactor: 3);
                }
                return await Hosted.RunAsync<IReadOnlyList<string>>(host, async services =>
                {
                    var commands = services.GetRequiredService<ICommandDispatcher>();
                    // Placed for ann: the reaction's command is sent on her behalf, and says so.
                    await commands.DispatchAsync(new PlaceHold(kept), new CommandContext(UserId: "ann"));
                    // Each released at once: its release reaches the reaction right behind its placing.
                    foreach (var id in released)
                    {
                        await commands.DispatchAsync(new PlaceHold(id));
                        await commands.DispatchAsync(new ReleaseHold(id));
                    }
                    Task<List<EventEnvelope>> Stream(Guid id) => Hosted.StreamAsync(services, id);

                    // Placed, released and placed again; once the second placing's reminder is scheduled,
                    // the release is handled again as a copy, as an event of the stream handled after a
                    // later one is: it cancels what was scheduled before it, not the second reminder.
                    var renewed = Guid.NewGuid();
                    await commands.DispatchAsync(new PlaceHold(renewed));
                    await commands.DispatchAsync(new ReleaseHold(renewed));
                    var renewedAt = DateTimeOffset.UtcNow;
                    await commands.DispatchAsync(new RenewHold(renewed));
                    var key = IKeyedScheduler.KeyOf("RemindHolder/" + renewed.ToString("D"));
                    var scheduledAgain = false;
                    for (var wait = 0; wait < 1500 && !scheduledAgain; wait++) // 30 s at most, as the other waits
                    {
                        scheduledAgain = await Hosted.CountAsync(postgres, connectionString,
                            "SELECT count(*) FROM scheduled_messages WHERE token_id = @key AND created_at >= @at", ("key", key.ToString("D")),
                            ("at", renewedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture))) > 0;
                        if (!scheduledAgain) await Task.Delay(20);
                    }
                    var release = (await Stream(renewed)).Single(e => e.Event is HoldReleased);
                    string Text(long value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    if (kafka is null)
                    {
                        await services.GetRequiredService<IBus>().Publish((HoldReleased)release.Event, context =>
                        {
                            context.MessageId = Guid.NewGuid();
                            context.Headers.Set(PlatformHeaders.StreamId, release.StreamId);
                            context.Headers.Set(PlatformHeaders.StreamVersion, Text(release.StreamVersion));
                        });
                    }
                    else
                    {
                        // A record of the event's topic as the relay writes one (its headers one by one), under a new id.
                        var descriptor = services.GetRequiredService<EventTypeRegistry>().Get(typeof(HoldReleased));
                        var payload = new System.Buffers.ArrayBufferWriter<byte>();
                        descriptor.Serialize(release.Event, payload);
                        var headers = new Confluent.Kafka.Headers();
                        void Header(string name, string value) => headers.Add(name, System.Text.Encoding.UTF8.GetBytes(value));
                        Header(PlatformHeaders.EventId, Guid.NewGuid().ToString("D"));
                        Header(PlatformHeaders.EventType, release.TypeName);
                        Header(PlatformHeaders.SchemaVersion, Text(descriptor.SchemaVersion));
                        Header(PlatformHeaders.StreamId, release.StreamId);
                        Header(PlatformHeaders.StreamType, release.StreamType);
                        Header(PlatformHeaders.StreamVersion, Text(release.StreamVersion));
                        Header(PlatformHeaders.GlobalPosition, Text(release.GlobalPosition));
                        using var producer = new Confluent.Kafka.ProducerBuilder<string, byte[]>(
                            new Confluent.Kafka.ProducerConfig { BootstrapServers = kafka.BootstrapServers }).Build();
                        await producer.ProduceAsync("events.hold",
                            new Confluent.Kafka.Message<string, byte[]> { Key = release.StreamId, Value = payload.WrittenSpan.ToArray(), Headers = headers });
                    }
                    var deadline = DateTime.UtcNow.AddSeconds(30);
                    while (((await Stream(kept)).Count < 3 || (await Stream(renewed)).Count < 5) && DateTime.UtcNow < deadline)
                        await Task.Delay(100);
                    // The released hold's expiry was due as soon as the kept one's, and its reminder before:
                    // give them time to change nothing.
                    await Task.Delay(TimeSpan.FromSeconds(2));
                    var lines = new List<string>();
                    var events = await Stream(kept);
                    lines.Add($"kept: {string.Join(", ", events.Where(e => e.Event is not HoldReminded).Select(e => e.Event.GetType().Name))}");
                    lines.Add($"kept reminded: {string.Join(", ", events.Where(e => e.Event is HoldReminded).Select(e => $"by {((HoldReminded)e.Event).By}, for {e.Metadata.UserId}"))}");
                    if (events.FirstOrDefault(e => e.Event is HoldExpired) is { } expired)
                        lines.Add($"kept expired at least 2 s after it was placed: {expired.Timestamp - events[0].Timestamp >= TimeSpan.FromSeconds(2)}");
                    var again = await Stream(renewed);
                    lines.Add($"renewed after its release was scheduled: {scheduledAgain}");
                    lines.Add($"renewed: {string.Join(", ", again.Where(e => e.Event is not HoldReminded).Select(e => e.Event.GetType().Name))}");
                    lines.Add($"renewed reminded: {again.Count(e => e.Event is HoldReminded)}");
                    var histories = new List<string>();
                    foreach (var id in released)
                        histories.Add(string.Join(", ", (await Stream(id)).Select(e => e.Event.GetType().Name)));
                    foreach (var history in histories.GroupBy(h => h).OrderBy(g => g.Key, StringComparer.Ordinal))
                        lines.Add($"released ({history.Count()}): {history.Key}");
                    return lines;
                });
            }
        }
        """;

    public enum Broker { InMemory, RabbitMq, Kafka }

    // In memory on both stores, on RabbitMQ and on Kafka (librdkafka's mock cluster): the reaction's
    // queue, or consumer group, takes the cancelling event too.
    [SkippableTheory]
    [InlineData(Store.Sqlite, Broker.InMemory)]
    [InlineData(Store.Postgres, Broker.InMemory)]
    [InlineData(Store.Postgres, Broker.RabbitMq)]
    [InlineData(Store.Postgres, Broker.Kafka)]
    public async Task the_command_is_sent_when_due_and_the_aggregate_decides(Store store, Broker broker)
    {
        var rabbitMq = broker == Broker.RabbitMq ? RealServices.RabbitMq.ToString() : "";
        using var kafka = broker == Broker.Kafka ? new KafkaMockCluster(brokers: 3) : null;
        await GuideExamples.AssertRunAsync(store, "Shop.Holds", Texts, Service, "Shop.Holds.Run.HoldRun",
            [
                "kept: HoldPlaced, HoldExpired",
                "kept reminded: by ann, for ann",
                "kept expired at least 2 s after it was placed: True",
                "renewed after its release was scheduled: True",
                "renewed: HoldPlaced, HoldReleased, HoldPlaced, HoldExpired",
                "renewed reminded: 1",
                "released (20): HoldPlaced, HoldReleased",
            ],
            Guid.NewGuid(), Enumerable.Range(0, 20).Select(_ => Guid.NewGuid()).ToArray(), rabbitMq, kafka!);
    }
}
