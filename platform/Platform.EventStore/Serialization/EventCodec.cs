using System.Buffers;
using System.Text;
using System.Text.Json;
using Platform.Events;

namespace Platform.EventStore.Serialization;

/// <summary>
/// Turns events and metadata into the stored JSON text and back. Buffers are per thread or
/// pooled, so a steady stream of appends and reads does not allocate beyond the strings the
/// database driver needs.
/// </summary>
static class EventCodec
{
    [ThreadStatic] static ArrayBufferWriter<byte>? t_buffer;

    static readonly JsonEncodedText CorrelationId = JsonEncodedText.Encode("correlationId");
    static readonly JsonEncodedText CausationId = JsonEncodedText.Encode("causationId");
    static readonly JsonEncodedText UserId = JsonEncodedText.Encode("userId");
    static readonly JsonEncodedText TraceParent = JsonEncodedText.Encode("traceparent");
    static readonly JsonEncodedText TraceState = JsonEncodedText.Encode("tracestate");

    static ArrayBufferWriter<byte> Buffer()
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        return buffer;
    }

    public static string Serialize(EventTypeDescriptor descriptor, object @event)
    {
        var buffer = Buffer();
        descriptor.Serialize(@event, buffer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static string Serialize<TState>(SnapshotDescriptor<TState> descriptor, TState state)
    {
        var buffer = Buffer();
        descriptor.Write(state, buffer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static string? Serialize(in EventMetadata metadata)
    {
        if (metadata.IsEmpty)
            return null;
        var buffer = Buffer();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            if (metadata.CorrelationId is { } correlation) writer.WriteString(CorrelationId, correlation);
            if (metadata.CausationId is { } causation) writer.WriteString(CausationId, causation);
            if (metadata.UserId is { } user) writer.WriteString(UserId, user);
            if (metadata.TraceParent is { } parent) writer.WriteString(TraceParent, parent);
            if (metadata.TraceState is { } state) writer.WriteString(TraceState, state);
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>Transcodes stored text to UTF-8 in a pooled buffer and hands it to <paramref name="read"/>.</summary>
    public static T ReadUtf8<T, TArg>(string json, TArg argument, Utf8Reader<T, TArg> read)
    {
        var rented = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(json.Length));
        try
        {
            var length = Encoding.UTF8.GetBytes(json, rented);
            return read(rented.AsSpan(0, length), argument);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    public delegate T Utf8Reader<out T, in TArg>(ReadOnlySpan<byte> utf8, TArg argument);

    public static EventMetadata ParseMetadata(string? json) =>
        json is null ? default : ReadUtf8(json, 0, static (utf8, _) => ParseMetadata(utf8));

    static EventMetadata ParseMetadata(ReadOnlySpan<byte> utf8)
    {
        string? correlation = null, causation = null, user = null, parent = null, state = null;
        var reader = new Utf8JsonReader(utf8);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals(CorrelationId.EncodedUtf8Bytes)) { reader.Read(); correlation = reader.GetString(); }
            else if (reader.ValueTextEquals(CausationId.EncodedUtf8Bytes)) { reader.Read(); causation = reader.GetString(); }
            else if (reader.ValueTextEquals(UserId.EncodedUtf8Bytes)) { reader.Read(); user = reader.GetString(); }
            else if (reader.ValueTextEquals(TraceParent.EncodedUtf8Bytes)) { reader.Read(); parent = reader.GetString(); }
            else if (reader.ValueTextEquals(TraceState.EncodedUtf8Bytes)) { reader.Read(); state = reader.GetString(); }
            else { reader.Read(); reader.Skip(); }
        }
        return new EventMetadata(correlation, causation, user, parent, state);
    }
}
