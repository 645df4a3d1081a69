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

    /// <summary>The event store's options for a resolved store.</summary>
    public static Platform.EventStore.Configuration.EventStoreOptions EventStoreOptions(StoreProvider provider, string connectionString) =>
        provider == StoreProvider.Postgres
            ? new Platform.EventStore.Configuration.EventStoreOptions().UsePostgres(connectionString)
            : new Platform.EventStore.Configuration.EventStoreOptions().UseSqlite(connectionString);

    /// <summary>An exception message fit for a one-line error.</summary>
    public static string OneLine(string text) => text.ReplaceLineEndings(" ");
}
