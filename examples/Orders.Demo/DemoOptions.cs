using System.Globalization;
using Platform.Runtime.Configuration;

namespace Shop.Orders.Demo;

/// <summary>
/// The demo's command line (<see cref="Usage"/>). The store and the transport default to the
/// embedded ones (SQLite, in-memory); giving <c>--postgres</c>, <c>--rabbitmq</c> or <c>--kafka</c>
/// also chooses that store or transport unless <c>--store</c>/<c>--transport</c> says otherwise.
/// </summary>
sealed record DemoOptions(int Orders, double PaymentFailures, double InventoryFailures, double RefundFailures, double Cancellations, int Seed, TimeSpan? GivenTimeout)
{
    /// <summary>The database: a SQLite file in a temp folder, or a database of the run's own on the PostgreSQL server <see cref="Postgres"/>.</summary>
    public StoreProvider Store { get; init; } = StoreProvider.Sqlite;

    /// <summary>A connection string to the PostgreSQL server; the demo creates its database there.</summary>
    public string? Postgres { get; init; }

    /// <summary>The bus.</summary>
    public TransportKind Transport { get; init; } = TransportKind.InMemory;

    /// <summary>The RabbitMQ AMQP URI.</summary>
    public string? RabbitMq { get; init; }

    /// <summary>The Kafka cluster's bootstrap servers.</summary>
    public string? Kafka { get; init; }

    /// <summary>Leave the run's database in place (and print where) for <c>platform events tail</c> and friends.</summary>
    public bool KeepDatabase { get; init; }

    /// <summary>Names the run's database, queues, consumer groups and topics, so runs never see each other's leftovers.</summary>
    public string RunId { get; init; } = Guid.NewGuid().ToString("N")[..8];

    /// <summary>How long the run may take before it gives up: given, else a minute plus 0.1 s per order.</summary>
    public TimeSpan Timeout => GivenTimeout ?? TimeSpan.FromSeconds(60 + Orders / 10.0);

    public const string Usage =
        "usage: Orders.Demo [count] [--orders N] [--payment-failures 0.05] [--inventory-failures 0.05] [--refund-failures 0] [--cancellations 0.05] " +
        "[--seed 42] [--timeout seconds] [--store sqlite|postgres] [--postgres \"Host=...;Username=...\"] " +
        "[--transport inmemory|rabbitmq|kafka] [--rabbitmq amqp://...] [--kafka host:9092] [--keep]";

    /// <summary>Reads the arguments; <paramref name="environment"/> gives PLATFORM_POSTGRES and PLATFORM_RABBITMQ (the process's variables by default).</summary>
    public static DemoOptions Parse(string[] args, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var options = new DemoOptions(300, 0.05, 0.05, 0, 0.05, 42, null);
        StoreProvider? store = null;
        TransportKind? transport = null;
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                options = options with { Orders = Count(arg) };
                continue;
            }
            if (arg == "--keep")
            {
                options = options with { KeepDatabase = true };
                continue;
            }
            if (i + 1 >= args.Length)
                throw new ArgumentException($"{arg} needs a value");
            var value = args[++i];
            switch (arg)
            {
                case "--orders": options = options with { Orders = Count(value) }; break;
                case "--payment-failures": options = options with { PaymentFailures = Rate(arg, value) }; break;
                case "--inventory-failures": options = options with { InventoryFailures = Rate(arg, value) }; break;
                case "--refund-failures": options = options with { RefundFailures = Rate(arg, value) }; break;
                case "--cancellations": options = options with { Cancellations = Rate(arg, value) }; break;
                case "--seed": options = options with { Seed = int.Parse(value, CultureInfo.InvariantCulture) }; break;
                case "--timeout": options = options with { GivenTimeout = TimeSpan.FromSeconds(double.Parse(value, CultureInfo.InvariantCulture)) }; break;
                case "--store": store = Choice(arg, value, StoreProvider.Sqlite, StoreProvider.Postgres); break;
                case "--transport": transport = Choice(arg, value, TransportKind.InMemory, TransportKind.RabbitMq, TransportKind.Kafka); break;
                case "--postgres": options = options with { Postgres = value }; break;
                case "--rabbitmq": options = options with { RabbitMq = value }; break;
                case "--kafka": options = options with { Kafka = value }; break;
                default: throw new ArgumentException($"unknown option {arg}");
            }
        }
        options = options with
        {
            Store = store ?? (options.Postgres is null ? StoreProvider.Sqlite : StoreProvider.Postgres),
            Transport = transport ?? (options.Kafka is not null ? TransportKind.Kafka : options.RabbitMq is not null ? TransportKind.RabbitMq : TransportKind.InMemory),
        };
        options = options with
        {
            Postgres = options.Postgres ?? (options.Store == StoreProvider.Postgres ? environment("PLATFORM_POSTGRES") : null),
            RabbitMq = options.RabbitMq ?? (options.Transport == TransportKind.RabbitMq ? environment("PLATFORM_RABBITMQ") : null),
        };
        if (options.Store == StoreProvider.Postgres && string.IsNullOrWhiteSpace(options.Postgres))
            throw new ArgumentException("--store postgres needs the server: pass --postgres \"Host=...;Username=...;Database=postgres\" or set PLATFORM_POSTGRES " +
                                        "(scripts/services.sh up writes it to .services/env)");
        if (options.Transport == TransportKind.RabbitMq && string.IsNullOrWhiteSpace(options.RabbitMq))
            throw new ArgumentException("--transport rabbitmq needs the broker: pass --rabbitmq amqp://user:password@host:5672/ or set PLATFORM_RABBITMQ " +
                                        "(scripts/services.sh up writes it to .services/env)");
        if (options.Transport == TransportKind.RabbitMq && !Uri.TryCreate(options.RabbitMq, UriKind.Absolute, out _))
            throw new ArgumentException($"--rabbitmq must be an amqp:// URI, not '{options.RabbitMq}'");
        if (options.Transport == TransportKind.Kafka && string.IsNullOrWhiteSpace(options.Kafka))
            throw new ArgumentException("--transport kafka needs the cluster: pass --kafka host:9092[,host2:9092]");
        return options;
    }

    /// <summary>How the summary names the store and the transport.</summary>
    public string Describe() => (Store == StoreProvider.Postgres ? "PostgreSQL" : "SQLite") + ", " + TransportName;

    /// <summary>How the run names its transport.</summary>
    public string TransportName => Transport switch { TransportKind.RabbitMq => "RabbitMQ", TransportKind.Kafka => "Kafka", _ => "in-memory transport" };

    static T Choice<T>(string option, string value, params T[] choices) where T : struct, Enum
    {
        foreach (var choice in choices)
        {
            if (string.Equals(choice.ToString(), value, StringComparison.OrdinalIgnoreCase))
                return choice;
        }
        throw new ArgumentException($"{option} must be one of {string.Join(", ", choices.Select(c => c.ToString().ToLowerInvariant()))}, not '{value}'");
    }

    static int Count(string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : throw new ArgumentException($"the order count must be a positive whole number, not '{value}'");

    static double Rate(string option, string value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) && rate is >= 0 and <= 1
            ? rate
            : throw new ArgumentException($"{option} must be a rate between 0 and 1, not '{value}'");
}
