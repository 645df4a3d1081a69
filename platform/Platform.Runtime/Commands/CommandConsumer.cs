using System.Globalization;
using Platform.Commands;
using MassTransit;
using Platform.Messaging;

namespace Platform.Runtime.Commands;

/// <summary>
/// Accepts a command from the bus and runs it through the <see cref="ICommandDispatcher"/>. The
/// message id is the command id (causation of its events); the correlation id comes from the
/// <see cref="PlatformHeaders.CorrelationId"/> header or MassTransit's correlation id, the user from the
/// <see cref="PlatformHeaders.UserId"/> header (which the sender's own authentication sets). A request
/// gets a <see cref="CommandAccepted"/> response; a rejected or invalid command faults.
/// </summary>
/// <typeparam name="TCommand">The command type.</typeparam>
public sealed class CommandConsumer<TCommand> : IConsumer<TCommand> where TCommand : class
{
    readonly ICommandDispatcher _dispatcher;

    /// <summary>Creates the consumer.</summary>
    /// <param name="dispatcher">Runs the command.</param>
    public CommandConsumer(ICommandDispatcher dispatcher) => _dispatcher = dispatcher;

    /// <inheritdoc />
    public async Task Consume(ConsumeContext<TCommand> context)
    {
        var correlationId = context.Headers.Get<string>(PlatformHeaders.CorrelationId) ?? context.CorrelationId?.ToString("D");
        var accepted = await _dispatcher.DispatchAsync(context.Message,
            new CommandContext(context.MessageId, correlationId, context.Headers.Get<string>(PlatformHeaders.UserId), ExpectedVersion(context)),
            context.CancellationToken).ConfigureAwait(false);
        if (context.IsResponseAccepted<CommandAccepted>())
            await context.RespondAsync(accepted).ConfigureAwait(false);
    }

    // The Platform-Expected-Version header, as text (a number set by a sender's serializer is read too).
    static long? ExpectedVersion(ConsumeContext context) => context.Headers.Get<object>(PlatformHeaders.ExpectedVersion) switch
    {
        null => null,
        long version => version,
        int version => version,
        var value when long.TryParse(Convert.ToString(value, CultureInfo.InvariantCulture), NumberStyles.None, CultureInfo.InvariantCulture, out var version) => version,
        var value => throw new CommandValidationException(typeof(TCommand).Name,
            [$"the {PlatformHeaders.ExpectedVersion} header is '{value}', not a version (a whole number from 0)"]),
    };
}
