using System.CommandLine;
using Platform.Runtime.Configuration;

namespace Platform.Cli;

/// <summary>
/// <c>--store sqlite|postgres</c> and <c>--connection</c> for commands that work on a runtime's
/// event store, falling back to the runtime's own variables (<c>Platform__Store__Provider</c>,
/// <c>Platform__Store__ConnectionString</c>) so an operator can point them at the same database.
/// </summary>
internal sealed class StoreArguments
{
    public Option<string?> Store { get; } = new("--store") { Description = "sqlite or postgres (default: Platform__Store__Provider, else sqlite)." };

    public Option<string?> Connection { get; } = new("--connection") { Description = "The event store's connection string (default: Platform__Store__ConnectionString)." };

    public void AddTo(Command command)
    {
        command.Options.Add(Store);
        command.Options.Add(Connection);
    }

    /// <summary>The store to use, or false after one line on <paramref name="error"/> saying what to pass.</summary>
    public bool TryResolve(ParseResult parse, TextWriter error, out StoreProvider provider, out string connectionString)
    {
        var providerName = parse.GetValue(Store) ?? Environment.GetEnvironmentVariable("Platform__Store__Provider") ?? "sqlite";
        connectionString = parse.GetValue(Connection) ?? Environment.GetEnvironmentVariable("Platform__Store__ConnectionString") ?? string.Empty;
        if (!Enum.TryParse(providerName, ignoreCase: true, out provider) || !Enum.IsDefined(provider))
        {
            error.WriteLine($"error: unknown store '{providerName}'; pass --store sqlite or --store postgres.");
            return false;
        }
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            error.WriteLine("error: no store connection; pass --connection \"...\" or set Platform__Store__ConnectionString as for the runtime.");
            return false;
        }
        // Operator commands read a store the runtime made; opening a SQLite path that is not there
        // would create an empty database file in its place.
        if (provider == StoreProvider.Sqlite && MissingSqliteFile(connectionString) is { } missing)
        {
            error.WriteLine($"error: no SQLite store at '{missing}'; pass the --connection the runtime uses (Platform__Store__ConnectionString).");
            return false;
        }
        return true;
    }

    static string? MissingSqliteFile(string connectionString)
    {
        Microsoft.Data.Sqlite.SqliteConnectionStringBuilder builder;
        try
        {
            builder = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException)
        {
            return null; // the provider reports a malformed connection string itself
        }
        var file = builder.DataSource;
        if (builder.Mode == Microsoft.Data.Sqlite.SqliteOpenMode.Memory || file.Length == 0 || file == ":memory:"
            || file.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
            return null;
        return File.Exists(file) ? null : Path.GetFullPath(file);
    }

    /// <summary>
    /// Opens the store without a domain (for commands that move or count rows and decode no event)
    /// and runs <paramref name="action"/> with the output and error writers; no store, or a database
    /// that cannot be used, becomes one <c>error:</c> line and exit code 1.
    /// </summary>
    public async Task<int> RunAsync(ParseResult parse, Func<Platform.EventStore.Storage.SqlEventStore, TextWriter, TextWriter, Task<int>> action)
    {
        var (output, error) = (parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error);
        if (!TryResolve(parse, error, out var provider, out var connectionString))
            return 1;
        try
        {
            await using var store = new Platform.EventStore.Storage.SqlEventStore(EventStoreOptions(provider, connectionString), new Platform.Events.EventTypeRegistry([]));
            return await action(store, output, error);
        }
        catch (Exception exception) when (exception is System.Data.Common.DbException or InvalidOperationException or ArgumentException)
        {
            error.WriteLine($"error: the store could not be used ({OneLine(exception.Message)}); check --store and --connection, and that the runtime has migrated it.");
            return 1;
        }
    }

    /// <summary>The event store's options for a resolved store.</summary>
    public static Platform.EventStore.Configuration.EventStoreOptions EventStoreOptions(StoreProvider provider, string connectionString) =>
        provider == StoreProvider.Postgres
            ? new Platform.EventStore.Configuration.EventStoreOptions().UsePostgres(connectionString)
            : new Platform.EventStore.Configuration.EventStoreOptions().UseSqlite(connectionString);

    /// <summary>An exception message fit for a one-line error.</summary>
    public static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
