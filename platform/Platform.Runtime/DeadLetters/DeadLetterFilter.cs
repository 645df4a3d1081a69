using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Logging;
using Platform.Commands;
using Platform.Messaging;
using Platform.Runtime.Consumers;

namespace Platform.Runtime.DeadLetters;

/// <summary>
/// Counts the attempts of one delivery; shared by the dead-letter filter and the attempt filter
/// below it. A payload the dead-letter filter adds before the retries: MassTransit's retry filter
/// hands each attempt a context of its own, which finds the payloads of the context it wraps (one
/// added inside an attempt would not be seen outside). It was an AsyncLocal, whose two writes per
/// message allocated two execution contexts (half a kilobyte per message).
/// </summary>
sealed class DeliveryAttempts
{
    public int Count;

    /// <summary>
    /// The message as sent (its envelope's JSON), set by <see cref="Messaging.EventVersionFilter{T}"/>
    /// when it was sent at a schema version other than this build's: its letter keeps that JSON and
    /// its version header, for a replay to read it at that version, not as this build's type.
    /// </summary>
    public System.Text.Json.JsonElement? AsSent;

    public required KeyValuePair<string, object?> EndpointTag { get; init; }
}

/// <summary>
/// Sits in the message pipe, inside every retry: counts the attempts that failed for a reason other
/// than the order guard's <see cref="OutOfOrderEventException"/>, whose retries are not failures.
/// </summary>
sealed class AttemptCountingFilter : IFilter<ConsumeContext>
{
    public async Task Send(ConsumeContext context, IPipe<ConsumeContext> next)
    {
        try
        {
            await next.Send(context).ConfigureAwait(false);
        }
        catch (Exception exception) when (exception is not OutOfOrderEventException && context.TryGetPayload<DeliveryAttempts>(out var attempts))
        {
            Interlocked.Increment(ref attempts.Count);
            PlatformTelemetry.MessagesFailed.Add(1, attempts.EndpointTag,
                new KeyValuePair<string, object?>("exception", exception.GetType().Name));
            throw;
        }
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("platform-attempts");
}

/// <summary>
/// The outermost filter of a consumer endpoint: when the retries inside it are exhausted, it writes
/// the message with its exception to <c>message_dead_letters</c> and acknowledges it, so the message
/// neither goes to MassTransit's <c>_error</c> queue nor blocks the endpoint. Rejected and invalid
/// commands are answers, not failures: they fault to the caller, and <see cref="FaultedMessageFilter"/>
/// drops them after that, as it stores what could not be read as a message.
/// </summary>
sealed class DeadLetterFilter : IFilter<ConsumeContext>
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    readonly DeadLetterStore _store;
    readonly string _consumer;
    readonly string _endpoint;
    readonly KeyValuePair<string, object?> _endpointTag;
    readonly PayloadFactory<DeliveryAttempts> _newAttempts;
    readonly IReadOnlyList<Func<ConsumeContext, (object Message, Type Type)?>> _readers;
    readonly ILogger _logger;

    readonly IDeadLetterSink? _sink;

    public DeadLetterFilter(DeadLetterStore store, string consumer, string endpoint, IEnumerable<Type> messageTypes, ILogger logger,
        IDeadLetterSink? sink = null)
    {
        _store = store;
        _sink = sink;
        _consumer = consumer;
        _endpoint = endpoint;
        _endpointTag = new KeyValuePair<string, object?>("endpoint", endpoint);
        _newAttempts = () => new DeliveryAttempts { EndpointTag = _endpointTag };
        _logger = logger;
        // Once per endpoint at startup: a typed reader per message type the endpoint consumes.
        var method = typeof(DeadLetterFilter).GetMethod(nameof(ReadMessage), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
        _readers = messageTypes.Select(type => method.MakeGenericMethod(type)
            .CreateDelegate<Func<ConsumeContext, (object Message, Type Type)?>>()).ToArray();
    }

    public async Task Send(ConsumeContext context, IPipe<ConsumeContext> next)
    {
        var attempts = context.GetOrAddPayload(_newAttempts);
        // Every log line written while the message is consumed carries its correlation.
        using var scope = _logger.BeginScope(new MessageLogScope(context, _endpoint));
        try
        {
            await next.Send(context).ConfigureAwait(false);
            if (attempts.Count > 0)
                PlatformTelemetry.MessagesRetried.Add(attempts.Count, _endpointTag);
        }
        catch (Exception exception) when (ShouldDeadLetter(context, exception))
        {
            if (attempts.Count > 1)
                PlatformTelemetry.MessagesRetried.Add(attempts.Count - 1, _endpointTag);
            var message = _readers.Select(read => read(context)).FirstOrDefault(m => m is not null);
            if (message is null)
                throw; // not readable as a message of this endpoint: the error pipe's FaultedMessageFilter keeps its body
            var payload = attempts.AsSent is { } sent ? sent.GetRawText() : JsonSerializer.Serialize(message.Value.Message, message.Value.Type, Json);
            await RecordAsync(context, message.Value.Type, payload, exception, Math.Max(1, attempts.Count)).ConfigureAwait(false);
        }
    }

    public void Probe(ProbeContext context) => context.CreateFilterScope("platform-dead-letters");

    static bool ShouldDeadLetter(ConsumeContext context, Exception exception) =>
        exception is not CommandRejectedException and not CommandValidationException
        && !(exception is OperationCanceledException && context.CancellationToken.IsCancellationRequested);

    async Task RecordAsync(ConsumeContext context, Type messageType, string payload, Exception exception, int attempts)
    {
        var headers = context.Headers.GetAll()
            .Where(h => h.Value is string)
            .ToDictionary(h => h.Key, h => (string)h.Value, StringComparer.Ordinal);
        headers.TryGetValue(PlatformHeaders.StreamVersion, out var version);
        headers.TryGetValue(PlatformHeaders.GlobalPosition, out var position);
        var letter = new DeadLetter(Guid.CreateVersion7(), _consumer, _endpoint, context.MessageId?.ToString("D"),
            messageType.AssemblyQualifiedName!, headers.GetValueOrDefault(PlatformHeaders.EventType),
            headers.GetValueOrDefault(PlatformHeaders.StreamId), ParseLong(version), ParseLong(position),
            JsonSerializer.Serialize(headers, Json), payload,
            exception.GetType().FullName!, exception.Message, exception.ToString(), attempts, DateTimeOffset.UtcNow,
            DeadLetterState.Dead, null);
        // If this write fails the exception propagates and MassTransit faults the message as it
        // would without dead letters: the message is never lost silently.
        await WriteAsync(_store, _sink, _logger, letter).ConfigureAwait(false);
        _logger.LogError(exception, "{Consumer} gave up on message {MessageId} ({MessageType}, stream {StreamId} v{StreamVersion}) after {Attempts} attempts; dead letter {DeadLetterId}",
            _consumer, letter.MessageId, messageType.Name, letter.StreamId, letter.StreamVersion, attempts, letter.Id);
    }

    /// <summary>
    /// Stores a dead letter, counts it, and copies it to the sink (a copy that fails is logged: the
    /// stored letter is what <c>platform dlq</c> works on). Throws when the letter cannot be stored.
    /// </summary>
    internal static async Task WriteAsync(DeadLetterStore store, IDeadLetterSink? sink, ILogger logger, DeadLetter letter)
    {
        await store.AddAsync(letter, CancellationToken.None).ConfigureAwait(false);
        DeadLetterTelemetry.MessagesDeadLettered.Add(1);
        if (sink is null)
            return;
        try
        {
            await sink.CopyAsync(letter, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception copy)
        {
            logger.LogWarning(copy, "Dead letter {DeadLetterId} is stored but could not be copied to {Sink}", letter.Id, sink.GetType().Name);
        }
    }

    internal static long? ParseLong(string? text) =>
        long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value) ? value : null;

    static (object Message, Type Type)? ReadMessage<T>(ConsumeContext context) where T : class =>
        context.TryGetMessage<T>(out var typed) ? (typed.Message, typeof(T)) : null;
}

/// <summary>
/// The log scope of a message being consumed: its correlation, causation and message ids and the
/// endpoint. Read only when a logger writes the scope out, so a message costs one small object
/// when nothing logs (a dictionary built per message was a measurable part of consuming one).
/// </summary>
sealed class MessageLogScope(ConsumeContext context, string endpoint) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public int Count => 4;

    public KeyValuePair<string, object?> this[int index] => index switch
    {
        0 => new("CorrelationId", context.Headers.Get<string>(PlatformHeaders.CorrelationId) ?? context.CorrelationId?.ToString("D")),
        1 => new("CausationId", context.Headers.Get<string>(PlatformHeaders.CausationId)),
        2 => new("MessageId", context.MessageId?.ToString("D")),
        3 => new("Endpoint", endpoint),
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
            yield return this[i];
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => string.Join(", ", this.Select(p => $"{p.Key}:{p.Value}"));
}
