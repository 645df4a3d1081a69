using System.Diagnostics.Metrics;

namespace Platform.Runtime.DeadLetters;

/// <summary>Counters of retries and dead letters, on the <c>Platform.Runtime</c> meter.</summary>
static class DeadLetterTelemetry
{
    internal static readonly Counter<long> MessagesDeadLettered = PlatformTelemetry.Meter.CreateCounter<long>(
        "platform.messages.dead_lettered", "{message}", "Messages a consumer gave up on after its retries, recorded in message_dead_letters.");

    internal static readonly Counter<long> MessagesReplayed = PlatformTelemetry.Meter.CreateCounter<long>(
        "platform.messages.replayed", "{message}", "Dead letters re-sent to their endpoint at an operator's request.");
}
