using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Platform.Events;
using Platform.EventStore.Configuration;
using Platform.EventStore.Storage;
using Platform.Runtime.Configuration;

namespace Platform.Cli.Commands;

/// <summary>
/// <c>platform store verify</c>: checks what the store's tables promise each other
/// (<see cref="SqlEventStore.VerifyAsync"/>), the step to run after restoring a backup. Exit code 1
/// when it finds a problem, each printed with what to do. <c>platform store backup</c> copies a
/// SQLite store while the runtime runs.
/// </summary>
internal static class StoreCommand
{
    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static Command Create()
    {
        var arguments = new StoreArguments();
        var json = new Option<bool>("--json") { Description = "Print JSON." };
        var domain = new Option<string?>("--domain")
        {
            Description = "Also read every unresolved saga as this build does (its data into the state class, its state in the machine): the service's .dll or a generated domain's assembly-qualified type name.",
        };
        var streams = new Option<string[]>("--stream")
        {
            Description = "Check only these streams (repeat it for several), through the stream indexes instead of a scan of the store: their versions, archive, snapshot and consumer rows.",
            AllowMultipleArgumentsPerToken = false,
        };
        var verify = new Command("verify",
            "Check the store after a restore or a hand edit: stream versions without gaps, positions, no checkpoint, snapshot or consumer ahead of the events, sagas whose row and history agree, no timeout waiting for a saga that is gone; with --domain, sagas this build can read; with --stream, those streams alone. Reads only; exit code 1 on a problem.") { json, domain, streams };
        arguments.AddTo(verify);
        verify.SetAction(async (parse, ct) =>
        {
            var output = parse.InvocationConfiguration.Output;
            Platform.Runtime.Domains.DomainCatalog? catalog = null;
            if (parse.GetValue(domain) is { } named && (catalog = DomainStoreArguments.TryLoad(named, parse.InvocationConfiguration.Error)) is null)
                return 1;
            StoreVerification? result = null;
            var only = parse.GetValue(streams) ?? [];
            var code = await arguments.RunAsync(parse, async (store, _, _) =>
            {
                if (only.Length > 0)
                {
                    result = await store.VerifyStreamsAsync(only, ct);
                    return 0;
                }
                var events = await store.VerifyAsync(ct);
                // The runtime's saga tables live in the same database.
                var operations = new Platform.Runtime.Sagas.SagaOperations(
                    store.Options.Provider == EventStoreProvider.Postgres ? StoreProvider.Postgres : StoreProvider.Sqlite,
                    store.Options.ConnectionString);
                var sagas = await operations.VerifyAsync(ct);
                var readable = catalog is null ? [] : await operations.VerifyDataAsync(catalog, ct);
                result = events with { Problems = [.. events.Problems, .. sagas, .. readable] };
                return 0;
            });
            if (result is null)
                return code;
            if (parse.GetValue(json))
            {
                output.WriteLine(JsonSerializer.Serialize(new { result.Events, result.ArchivedEvents, result.HighestPosition, result.LastAssignedPosition, result.Consistent, result.Problems }, Json));
                return result.Consistent ? 0 : 1;
            }
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{result.Events} event(s), {result.ArchivedEvents} archived{(only.Length > 0 ? $" in {only.Distinct(StringComparer.Ordinal).Count()} stream(s)" : "")}; highest position {result.HighestPosition}, last handed out {result.LastAssignedPosition}"));
            foreach (var problem in result.Problems)
                output.WriteLine($"problem [{problem.Check}] {problem.Subject}: {problem.Description}");
            output.WriteLine(result.Consistent
                ? only.Length > 0
                    ? "consistent: these streams' versions, archive, snapshots and consumer streams agree"
                    : "consistent: stream versions, archive, positions, checkpoints, snapshots, consumer streams and sagas agree"
                : $"{result.Problems.Count} problem(s) (at most {SqlEventStore.ProblemsPerCheck} per check)");
            return result.Consistent ? 0 : 1;
        });
        return new Command("store", "The event store's database.") { verify, Backup() };
    }

    /// <summary>
    /// <c>platform store backup --out FILE</c> on SQLite: a consistent copy taken while the runtime
    /// writes (<c>VACUUM INTO</c>), then verified. PostgreSQL has its own tools, which the error names.
    /// </summary>
    static Command Backup()
    {
        var arguments = new StoreArguments();
        var file = new Option<FileInfo>("--out") { Description = "The backup file to write; it must not exist yet.", Required = true };
        var backup = new Command("backup", "Copy a SQLite store, consistently, while the runtime runs, and verify the copy.") { file };
        arguments.AddTo(backup);
        backup.SetAction(async (parse, ct) =>
        {
            var (output, error) = (parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error);
            if (!arguments.TryResolve(parse, error, out var provider, out var connectionString))
                return 1;
            if (provider == StoreProvider.Postgres)
            {
                error.WriteLine("error: on PostgreSQL back up with its own tools: pg_dump --format=custom (restore with pg_restore) or your provider's point-in-time recovery; then run 'platform store verify' on the restored database.");
                return 1;
            }
            var target = parse.GetValue(file)!;
            if (target.Exists)
            {
                error.WriteLine($"error: {target.FullName} exists; a backup never overwrites a file. Pass a new --out.");
                return 1;
            }
            var copied = false;
            try
            {
                await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection(connectionString))
                {
                    await connection.OpenAsync(ct);
                    await using var command = connection.CreateCommand();
                    // One read transaction: the copy is the store as of one moment, whatever commits meanwhile.
                    command.CommandText = "VACUUM INTO @file";
                    command.Parameters.AddWithValue("@file", target.FullName);
                    await command.ExecuteNonQueryAsync(ct);
                    copied = true;
                }
                target.Refresh();
                var copy = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder { DataSource = target.FullName, Pooling = false };
                StoreVerification result;
                await using (var store = new SqlEventStore(new EventStoreOptions().UseSqlite(copy.ToString()), new EventTypeRegistry([])))
                    result = await store.VerifyAsync(ct);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"Wrote {target.FullName} ({target.Length / 1024.0 / 1024.0:F1} MB): {result.Events} event(s), {result.ArchivedEvents} archived, highest position {result.HighestPosition}; ") +
                    (result.Consistent ? "verified." : $"{result.Problems.Count} problem(s) in the store itself: run 'platform store verify'."));
                return result.Consistent ? 0 : 1;
            }
            catch (Exception exception) when (exception is System.Data.Common.DbException or InvalidOperationException or ArgumentException or IOException)
            {
                target.Refresh();
                if (!copied && target.Exists)
                    target.Delete(); // it did not exist before: what a failed copy left of it is no backup
                error.WriteLine(copied
                    ? $"error: {target.FullName} was written but could not be verified ({StoreArguments.OneLine(exception.Message)}); run 'platform store verify' on it."
                    : $"error: the backup failed ({StoreArguments.OneLine(exception.Message)}); check --connection and that {target.DirectoryName} is writable. No file was left.");
                return 1;
            }
        });
        return backup;
    }
}
