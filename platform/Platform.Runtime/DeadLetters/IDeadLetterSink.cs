namespace Platform.Runtime.DeadLetters;

/// <summary>
/// Somewhere besides <c>message_dead_letters</c> that a dead letter is copied to once it is stored
/// (the Kafka transport's dead-letter topic). A failed copy is logged; the stored letter stays the
/// one <c>platform dlq</c> works on.
/// </summary>
public interface IDeadLetterSink
{
    /// <summary>Copies a stored dead letter.</summary>
    /// <param name="letter">The letter, as stored.</param>
    /// <param name="cancellationToken">Cancels the copy.</param>
    Task CopyAsync(DeadLetter letter, CancellationToken cancellationToken);
}
