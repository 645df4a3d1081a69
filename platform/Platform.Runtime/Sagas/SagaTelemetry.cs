using System.Diagnostics.Metrics;

namespace Platform.Runtime.Sagas;

/// <summary>The saga counters, on the runtime's meter (<see cref="PlatformTelemetry.Meter"/>).</summary>
static class SagaTelemetry
{
    internal static readonly Counter<long> StepsCommitted = PlatformTelemetry.Meter.CreateCounter<long>(
        "platform.sagas.steps", "{step}", "Saga steps committed (saga row, history, inbox and outbox in one transaction).");

    internal static readonly Counter<long> ConcurrencyRetries = PlatformTelemetry.Meter.CreateCounter<long>(
        "platform.sagas.concurrency_retries", "{retry}", "Saga steps run again on the reloaded saga after another message saved it first.");

    internal static readonly Counter<long> DuplicatesSkipped = PlatformTelemetry.Meter.CreateCounter<long>(
        "platform.sagas.duplicates_skipped", "{message}", "Redelivered messages a saga or reaction ignored through its inbox.");

    internal static readonly Counter<long> MessagesDelivered = PlatformTelemetry.Meter.CreateCounter<long>(
        "platform.sagas.messages_delivered", "{message}", "Outbox messages and timeouts delivered from scheduled_messages.");

    internal static readonly Counter<long> ReactionsCommitted = PlatformTelemetry.Meter.CreateCounter<long>(
        "platform.reactions.handled", "{message}", "Reaction and message-consumer steps committed with their inbox row and outbox messages.");
}
