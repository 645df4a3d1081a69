namespace Platform.Runtime.Commands;

/// <summary>Runs commands against the loaded aggregates.</summary>
public interface ICommandDispatcher
{
    /// <summary>
    /// Loads the command's aggregate, runs the generated handler, saves its events expecting the
    /// loaded version and, on a concurrency conflict, runs it again on the reloaded aggregate (at
    /// most <c>Platform:Commands:MaxConcurrencyRetries</c> times).
    /// </summary>
    /// <param name="command">A command of a loaded domain, e.g. <c>PlaceOrder</c>.</param>
    /// <param name="context">Correlation and causation; defaults when null.</param>
    /// <param name="cancellationToken">Cancels the command.</param>
    /// <returns>The aggregate's new version.</returns>
    /// <exception cref="Platform.Commands.CommandValidationException">The command is invalid.</exception>
    /// <exception cref="Platform.Commands.CommandRejectedException">The aggregate refused it.</exception>
    /// <exception cref="Persistence.ConcurrencyException">Still conflicting after the last retry.</exception>
    Task<CommandAccepted> DispatchAsync(object command, CommandContext? context = null, CancellationToken cancellationToken = default);
}
