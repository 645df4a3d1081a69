using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Platform.Events;

/// <summary>
/// An event about to be appended: the domain event itself, its unique id and its metadata.
/// The id is what makes an append idempotent: an id that is already stored is never stored twice.
/// </summary>
/// <param name="EventId">Unique id of the event; a retried append must reuse it.</param>
/// <param name="Event">The domain event, an instance of a type registered in the <see cref="EventTypeRegistry"/>.</param>
/// <param name="Metadata">Correlation, causation, user and trace context.</param>
public readonly record struct EventData(Guid EventId, object Event, EventMetadata Metadata = default)
{
    /// <summary>Wraps an event with a new id (version 7, so ids sort roughly by creation time).</summary>
    /// <param name="event">The domain event.</param>
    /// <param name="metadata">Its metadata.</param>
    public static EventData Create(object @event, EventMetadata metadata = default) =>
        new(Guid.CreateVersion7(), @event, metadata);

    /// <summary>
    /// The id of the event at <paramref name="index"/> of those command <paramref name="commandId"/>
    /// (a <paramref name="commandType"/>) emits on stream <paramref name="streamId"/>, derived from
    /// these alone: the same command delivered again emits events with the same ids, which the store
    /// never stores twice, and its stored events are found by them. The first six bytes are the
    /// command id's (a version 7 id's timestamp, so the ids still sort by time), the other ten a
    /// SHA-256 of all four values; the id is marked version 8 (RFC 9562's custom layout).
    /// </summary>
    /// <param name="commandId">The command's id (the causation id of its events).</param>
    /// <param name="streamId">The stream the command addresses: the same command id on another stream is another command.</param>
    /// <param name="commandType">The command's type name: another type under the same id is another command.</param>
    /// <param name="index">The event's place among those the command emits, from 0.</param>
    public static Guid IdFor(Guid commandId, string streamId, string commandType, int index)
    {
        ArgumentNullException.ThrowIfNull(streamId);
        ArgumentNullException.ThrowIfNull(commandType);
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        var input = new byte[16 + Encoding.UTF8.GetByteCount(streamId) + 1 + Encoding.UTF8.GetByteCount(commandType) + 4];
        commandId.TryWriteBytes(input, bigEndian: true, out _);
        var at = 16 + Encoding.UTF8.GetBytes(streamId, input.AsSpan(16));
        input[at++] = 0; // the stream id and the type name cannot run into each other
        at += Encoding.UTF8.GetBytes(commandType, input.AsSpan(at));
        BinaryPrimitives.WriteInt32BigEndian(input.AsSpan(at), index);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(input, hash);
        Span<byte> id = stackalloc byte[16];
        input.AsSpan(0, 6).CopyTo(id);
        hash[..10].CopyTo(id[6..]);
        id[6] = (byte)((id[6] & 0x0F) | 0x80); // version 8
        id[8] = (byte)((id[8] & 0x3F) | 0x80); // RFC 9562 variant
        return new Guid(id, bigEndian: true);
    }
}
