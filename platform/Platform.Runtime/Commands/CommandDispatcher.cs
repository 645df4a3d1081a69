using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Platform.Commands;
using Platform.Events;
using Platform.Persistence;
using Platform.Runtime.Configuration;
using Platform.Runtime.Domains;

namespace Platform.Runtime.Commands;

/// <summary>The <see cref="ICommandDispatcher"/> on <see cref="IAggregateStore"/>.</summary>
public sealed class CommandDispatcher : ICommandDispatcher
{
    readonly DomainCatalog _catalog;
    readonly IAggregateStore _store;
    readonly int _maxRetries;
    readonly ILogger<CommandDispatcher> _logger;

    /// <summary>Creates the dispatcher.</summary>
    /// <param name="catalog">The loaded domains.</param>
    /// <param name="store">Where aggregates live.</param>
    /// <param name="options">The runtime's options.</param>
    /// <param name="logger">Where retries are logged.</param>
    public CommandDispatcher(DomainCatalog catalog, IAggregateStore store, PlatformOptions options, ILogger<CommandDispatcher> logger)
    {
        _catalog = catalog;
        _store = store;
        _maxRetries = options.Commands.MaxConcurrencyRetries;
        _logger = logger;
    }

    /// <inheritdoc />
    public async Task<CommandAccepted> DispatchAsync(object command, CommandContext? context = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(command);
        var aggregate = _catalog.GetAggregateFor(command.GetType());
        var streamId = aggregate.StreamIdOf(command);
        var commandId = context?.CommandId ?? Guid.CreateVersion7();
        var correlationId = context?.CorrelationId ?? commandId.ToString("D");

        using var activity = PlatformTelemetry.ActivitySource.StartActivity("platform.command " + command.GetType().Name);
        activity?.SetTag("platform.stream_id", streamId);
        activity?.SetTag("platform.correlation_id", correlationId);
        using var scope = _logger.BeginScope(new Dictionary<string, object> { ["CorrelationId"] = correlationId, ["CommandId"] = commandId });

        // The trace context stored with the events is the command's, so the relay can continue
        // the same trace when it publishes them.
        var current = Activity.Current;
        var metadata = new EventMetadata(correlationId, commandId.ToString("D"), context?.UserId,
            current?.IdFormat == ActivityIdFormat.W3C ? current.Id : null, current?.TraceStateString);

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var (version, position, alreadyStored) = await aggregate.ExecuteOnceAsync(_store, streamId, command, commandId, metadata, context?.ExpectedVersion, cancellationToken)
                    .ConfigureAwait(false);
                if (alreadyStored)
                    return await DuplicateAsync(command, streamId, commandId, attempt, cancellationToken).ConfigureAwait(false)
                           ?? new CommandAccepted(commandId, streamId, version, attempt, position) { Duplicate = true };
                PlatformTelemetry.CommandsHandled.Add(1);
                return new CommandAccepted(commandId, streamId, version, attempt, position);
            }
            catch (DuplicateEventException) when (context?.CommandId is not null)
            {
                // Run again on the state its first run left, it emitted other events under the same ids.
                if (await DuplicateAsync(command, streamId, commandId, attempt, cancellationToken).ConfigureAwait(false) is { } earlier)
                    return earlier;
                throw;
            }
            catch (Exception refused) when (refused is CommandRejectedException or CommandValidationException)
            {
                // Delivered again after its first run changed the state its rules read (a ShipOrder
                // finding the order shipped), or the version its sender read: handled, not refused.
                if (refused is CommandRejectedException && context?.CommandId is not null
                    && await DuplicateAsync(command, streamId, commandId, attempt, cancellationToken).ConfigureAwait(false) is { } earlier)
                    return earlier;
                // Answers, not failures: the caller gets the exception (from the bus, as a fault),
                // and nothing else keeps them, so they are counted and logged here.
                var reason = refused switch
                {
                    CommandVersionConflictException => "conflict",
                    CommandRejectedException => "rejected",
                    _ => "invalid",
                };
                PlatformTelemetry.CommandsRefused.Add(1, new KeyValuePair<string, object?>("command", command.GetType().Name),
                    new KeyValuePair<string, object?>("reason", reason));
                _logger.LogInformation("{Command} on {AggregateType} {StreamId} {Reason}: {Message}",
                    command.GetType().Name, aggregate.AggregateType, streamId, reason, refused.Message);
                throw;
            }
            catch (ConcurrencyException conflict) when (attempt <= _maxRetries)
            {
                // Another writer saved this aggregate since we loaded it: the command is judged
                // again against the state that includes the other writer's events.
                PlatformTelemetry.ConcurrencyRetries.Add(1);
                _logger.LogDebug("{Command} on {AggregateType} {StreamId} lost a concurrency race (now at {Version}); attempt {Attempt} of {Max}",
                    command.GetType().Name, aggregate.AggregateType, streamId, conflict.ActualVersion, attempt + 1, _maxRetries + 1);
            }
        }
    }

    /// <summary>
    /// The earlier outcome of a command whose events are already stored (found by the ids derived
    /// from its id): counted, logged, and answered as accepted without running it again.
    /// </summary>
    async Task<CommandAccepted?> DuplicateAsync(object command, string streamId, Guid commandId, int attempt, CancellationToken cancellationToken)
    {
        var type = command.GetType().Name;
        if (await _store.FindCommandAsync(streamId, commandId, type, cancellationToken).ConfigureAwait(false) is not { } stored)
            return null;
        PlatformTelemetry.CommandDuplicatesSkipped.Add(1, new KeyValuePair<string, object?>("command", type));
        _logger.LogInformation("{Command} {CommandId} on {StreamId} was handled before (its {Events} event(s) end at version {Version}); not run again",
            type, commandId, streamId, stored.Events, stored.Version);
        return new CommandAccepted(commandId, streamId, stored.Version, attempt, stored.Position) { Duplicate = true };
    }
}
