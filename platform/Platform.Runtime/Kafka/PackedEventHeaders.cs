using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Platform.Events;
using Platform.Messaging;
using Platform.Runtime.Messaging;

namespace Platform.Runtime.Kafka;

/// <summary>
/// A stored event's platform headers packed into one Kafka header, <c>Platform-Event</c>: a JSON
/// object of the same names and values (<c>{"Platform-Event-Id":"...","Platform-Event-Type":"OrderPlaced",...}</c>);
/// the W3C <c>traceparent</c> and <c>tracestate</c> stay headers of their own, where tracing tools
/// look for them. Each header costs librdkafka and Confluent.Kafka an allocation and a copy on
/// both sides whatever its size: the bare loop writing the relay's seven ran at 0.53x of itself,
/// the same values in one header at 0.73x. Written unless <c>Transport:Kafka:PackEventHeaders</c> is
/// off; read in both forms, so a topic may hold both while instances are upgraded.
/// </summary>
public static class PackedEventHeaders
{
    /// <summary>The header's name.</summary>
    public const string Name = "Platform-Event";

    // The names a packed header holds, read back as these strings instead of allocating new ones.
    static readonly (string Name, byte[] Utf8)[] Known = new[]
    {
        PlatformHeaders.EventId, PlatformHeaders.EventType, PlatformHeaders.SchemaVersion, PlatformHeaders.StreamId,
        PlatformHeaders.StreamType, PlatformHeaders.StreamVersion, PlatformHeaders.GlobalPosition,
        PlatformHeaders.CorrelationId, PlatformHeaders.CausationId, PlatformHeaders.UserId,
    }.Select(name => (name, Encoding.UTF8.GetBytes(name))).ToArray();

    /// <summary>
    /// Reads a packed header's names and values into <paramref name="into"/>; false when it is not
    /// a JSON object of strings (nothing is added then).
    /// </summary>
    /// <param name="value">The header's value.</param>
    /// <param name="into">Where the names and values go, in their order.</param>
    public static bool TryUnpack(ReadOnlySpan<byte> value, List<KeyValuePair<string, string>> into)
    {
        ArgumentNullException.ThrowIfNull(into);
        var start = into.Count;
        try
        {
            var reader = new Utf8JsonReader(value);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
                return false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = NameOf(ref reader);
                if (!reader.Read() || reader.TokenType != JsonTokenType.String)
                {
                    into.RemoveRange(start, into.Count - start);
                    return false;
                }
                into.Add(new KeyValuePair<string, string>(name, reader.GetString()!));
            }
            if (reader.TokenType == JsonTokenType.EndObject && !reader.Read())
                return true;
        }
        catch (JsonException)
        {
        }
        into.RemoveRange(start, into.Count - start);
        return false;
    }

    static string NameOf(ref Utf8JsonReader reader)
    {
        foreach (var (name, utf8) in Known)
        {
            if (reader.ValueTextEquals(utf8))
                return name;
        }
        return reader.GetString()!;
    }

    /// <summary>Writes an event's headers in the packed form; one per relay batch, not shared between threads.</summary>
    internal sealed class Writer
    {
        readonly ArrayBufferWriter<byte> _buffer = new(256);
        readonly Utf8JsonWriter _json;

        public Writer() => _json = new Utf8JsonWriter(_buffer);

        public void Write(EventEnvelope envelope, int schemaVersion, Activity? activity, Headers headers)
        {
            _buffer.ResetWrittenCount();
            _json.Reset(_buffer);
            _json.WriteStartObject();
            RelayMessage.WriteHeaders(envelope, schemaVersion, activity, (Json: _json, Headers: headers), static (target, name, value) =>
            {
                if (name is MassTransitEventPublisher.TraceParentHeader or MassTransitEventPublisher.TraceStateHeader)
                    target.Headers.Add(name, Encoding.UTF8.GetBytes(value));
                else
                    target.Json.WriteString(name, value);
            });
            _json.WriteEndObject();
            _json.Flush();
            headers.Add(Name, _buffer.WrittenSpan.ToArray());
        }
    }
}
