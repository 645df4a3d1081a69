using System.Buffers;

namespace Platform.Events;

/// <summary>
/// How an aggregate's state is written to and read from a snapshot. A snapshot records the
/// <see cref="SchemaFingerprint"/> it was written with; one whose fingerprint differs from the
/// current build's is ignored (the state is rebuilt from events and a fresh snapshot written),
/// so a changed state shape is never misread.
/// </summary>
/// <typeparam name="TState">The aggregate's state type.</typeparam>
public abstract class SnapshotDescriptor<TState>
{
    /// <summary>
    /// Identifies the state's shape, e.g. a version number or a hash of its fields the generator
    /// computes. Change it whenever a stored snapshot could no longer be read as the current state.
    /// </summary>
    public abstract string SchemaFingerprint { get; }

    /// <summary>Writes the state as UTF-8 JSON.</summary>
    /// <param name="state">The state.</param>
    /// <param name="output">Where the JSON goes.</param>
    public abstract void Write(TState state, IBufferWriter<byte> output);

    /// <summary>Reads the state from JSON written with the same fingerprint.</summary>
    /// <param name="utf8Json">The stored JSON.</param>
    public abstract TState Read(ReadOnlySpan<byte> utf8Json);
}
