namespace Platform.Runtime.Sagas;

/// <summary>Another message saved the saga first: the step is run again on the reloaded saga.</summary>
public sealed class SagaConcurrencyException(string sagaName, Guid correlationId, int expectedVersion)
    : Exception($"Saga {sagaName} {correlationId} was saved by another message since version {expectedVersion} was loaded.")
{
    /// <summary>The saga's name.</summary>
    public string SagaName { get; } = sagaName;

    /// <summary>The saga instance.</summary>
    public Guid CorrelationId { get; } = correlationId;

    /// <summary>The version the step loaded.</summary>
    public int ExpectedVersion { get; } = expectedVersion;
}

/// <summary>
/// A message reached a saga an operator resolved (<c>platform sagas resolve</c>): the operator took
/// over, so the repository records the message as handled and leaves the saga as it is.
/// </summary>
sealed class SagaResolvedException(string sagaName, Guid correlationId, string? resolution)
    : Exception($"Saga {sagaName} {correlationId} was resolved by an operator ({resolution}).")
{
    public string SagaName { get; } = sagaName;

    public Guid CorrelationId { get; } = correlationId;

    public string? Resolution { get; } = resolution;
}
