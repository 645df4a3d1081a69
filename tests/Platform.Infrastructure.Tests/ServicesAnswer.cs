using MassTransit;
using Npgsql;
using Platform.Testing;
using Xunit;

namespace Platform.Infrastructure.Tests;

/// <summary>
/// The services script must leave a PostgreSQL and a RabbitMQ that answer: a broken script fails
/// here first, with a message that says which service.
/// </summary>
public class ServicesAnswer
{
    [SkippableFact]
    public async Task postgres_answers_a_query()
    {
        await using var connection = new NpgsqlConnection(RealServices.Postgres);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select current_setting('server_version_num')::int, 40 + 2", connection);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.InRange(reader.GetInt32(0), 150000, 159999);
        Assert.Equal(42, reader.GetInt32(1));
    }

    [SkippableFact]
    public async Task rabbitmq_delivers_a_sent_message()
    {
        var received = new TaskCompletionSource<Ping>(TaskCreationOptions.RunContinuationsAsynchronously);
        var queue = $"infrastructure-ping-{Guid.NewGuid():N}";
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host(RealServices.RabbitMq);
            cfg.ReceiveEndpoint(queue, e =>
            {
                e.AutoDelete = true;
                e.Handler<Ping>(context =>
                {
                    received.TrySetResult(context.Message);
                    return Task.CompletedTask;
                });
            });
        });

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await bus.StartAsync(timeout.Token);
        try
        {
            var endpoint = await bus.GetSendEndpoint(new Uri($"queue:{queue}?autodelete=true"));
            var sent = new Ping(Guid.NewGuid(), "hello");
            await endpoint.Send(sent, timeout.Token);

            var got = await received.Task.WaitAsync(timeout.Token);
            Assert.Equal(sent, got);
        }
        finally
        {
            await bus.StopAsync(CancellationToken.None);
        }
    }
}

public record Ping(Guid Id, string Text);
