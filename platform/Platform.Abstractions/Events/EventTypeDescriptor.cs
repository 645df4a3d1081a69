using System.Buffers;

namespace Platform.Events;

/// <summary>
/// Everything the store needs to know about one event type, without reflection: its stable name,
/// its current schema version, how to write the current version as UTF-8 JSON, and how to read JSON
/// stored at any earlier version and upcast it to the current one. The generator emits one subclass
/// per event type; tests write them by hand.
/// </summary>
/// <remarks>
/// The store works with events as <see cref="object"/> (a stream holds many types), so the
/// untyped members are what it calls; <see cref="EventTypeDescriptor{TEvent}"/> is what an
/// implementation derives from.
/// </remarks>
public abstract class EventTypeDescriptor
{
    /// <summary>Stable name stored with every event, e.g. <c>orders.order-placed</c>. Never changes once events are stored.</summary>
    public abstract string TypeName { get; }

    /// <summary>The schema version new events are written with (1 for a type that never changed).</summary>
    public abstract int SchemaVersion { get; }

    /// <summary>The CLR type of the current version.</summary>
    public abstract Type ClrType { get; }

    /// <summary>Writes <paramref name="event"/> (an instance of <see cref="ClrType"/>) as UTF-8 JSON.</summary>
    /// <param name="event">The event at the current version.</param>
    /// <param name="output">Where the JSON goes; the store pools these buffers.</param>
    public abstract void Serialize(object @event, IBufferWriter<byte> output);

    /// <summary>
    /// Reads JSON stored at <paramref name="storedSchemaVersion"/> and returns the event at the
    /// current version, running the upcast chain from that version.
    /// </summary>
    /// <param name="utf8Json">The stored JSON.</param>
    /// <param name="storedSchemaVersion">The version the JSON was written with, from 1 to <see cref="SchemaVersion"/>.</param>
    /// <exception cref="NotSupportedException">The stored version is newer than this build knows or has no upcaster.</exception>
    /// <exception cref="System.Text.Json.JsonException">The JSON does not match the stored version's shape.</exception>
    public abstract object Deserialize(ReadOnlySpan<byte> utf8Json, int storedSchemaVersion);

    /// <summary>
    /// The CLR type of the event at <paramref name="schemaVersion"/>: <see cref="ClrType"/> for the
    /// current version, the generated record of an older one (e.g. <c>OrderPlacedV1</c>), null for a
    /// version this build does not know. A transport that carries events as objects serialized by
    /// another build (MassTransit's JSON) reads them as this type, then calls <see cref="Upcast"/>.
    /// </summary>
    /// <param name="schemaVersion">The version the event was written at.</param>
    public virtual Type? ClrTypeOf(int schemaVersion) => schemaVersion == SchemaVersion ? ClrType : null;

    /// <summary>
    /// Runs the upcast chain on an instance of an older version's type (<see cref="ClrTypeOf"/>) and
    /// returns the event at the current version; an instance of <see cref="ClrType"/> is returned as is.
    /// </summary>
    /// <param name="event">The event at any version this build knows.</param>
    /// <exception cref="ArgumentException"><paramref name="event"/> is of no version of this event type.</exception>
    public virtual object Upcast(object @event)
    {
        ArgumentNullException.ThrowIfNull(@event);
        return ClrType.IsInstanceOfType(@event)
            ? @event
            : throw new ArgumentException($"{@event.GetType().FullName} is not a version of event type '{TypeName}'.", nameof(@event));
    }

    /// <summary>
    /// The fields of personal data in JSON stored at <paramref name="schemaVersion"/>
    /// (<c>personal: true</c>), which erasing a stream overwrites; empty when there are none.
    /// </summary>
    /// <param name="schemaVersion">The version the JSON was written with.</param>
    public virtual IReadOnlyList<PersonalField> PersonalFields(int schemaVersion) => [];
}

/// <summary>A field of personal data in an event's stored JSON, and the JSON an erasure writes over its value.</summary>
/// <param name="Name">The JSON property (the field's name in the YAML).</param>
/// <param name="ErasedJson"><c>null</c>, <c>""</c>, <c>[]</c> or <c>{}</c>: what the generated reader accepts for the field's type.</param>
public sealed record PersonalField(string Name, string ErasedJson)
{
    /// <summary>
    /// Overwrites, in <paramref name="payload"/>, each of <paramref name="fields"/> it has with its
    /// erased value, under the property name <paramref name="nameOf"/> gives (the field's own name when
    /// null). Returns whether anything changed (false when erased before).
    /// </summary>
    /// <param name="payload">A stored event, saga data or message, as a JSON object.</param>
    /// <param name="fields">The personal fields.</param>
    /// <param name="nameOf">The JSON property of a field's name, e.g. a naming policy's.</param>
    public static bool Erase(System.Text.Json.Nodes.JsonObject payload, IEnumerable<PersonalField> fields, Func<string, string>? nameOf = null)
    {
        ArgumentNullException.ThrowIfNull(payload);
        ArgumentNullException.ThrowIfNull(fields);
        var changed = false;
        foreach (var field in fields)
        {
            var name = nameOf?.Invoke(field.Name) ?? field.Name;
            if (!payload.TryGetPropertyValue(name, out var value))
                continue;
            var erased = System.Text.Json.Nodes.JsonNode.Parse(field.ErasedJson);
            if (System.Text.Json.Nodes.JsonNode.DeepEquals(value, erased))
                continue;
            payload[name] = erased;
            changed = true;
        }
        return changed;
    }

    /// <summary>
    /// <see cref="Erase(System.Text.Json.Nodes.JsonObject, IEnumerable{PersonalField}, Func{string, string}?)"/> on JSON text:
    /// the text with the fields erased, or null when it is not an object or nothing changed.
    /// </summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="fields">The personal fields.</param>
    /// <param name="nameOf">The JSON property of a field's name.</param>
    /// <param name="options">How to write the result.</param>
    public static string? Erase(string json, IEnumerable<PersonalField> fields, Func<string, string>? nameOf = null,
        System.Text.Json.JsonSerializerOptions? options = null) =>
        System.Text.Json.Nodes.JsonNode.Parse(json) is System.Text.Json.Nodes.JsonObject payload && Erase(payload, fields, nameOf)
            ? payload.ToJsonString(options)
            : null;
}

/// <summary>The typed base of a generated or hand-written event type descriptor.</summary>
/// <typeparam name="TEvent">The CLR type of the event's current version.</typeparam>
public abstract class EventTypeDescriptor<TEvent> : EventTypeDescriptor
    where TEvent : class
{
    /// <inheritdoc />
    public sealed override Type ClrType => typeof(TEvent);

    /// <summary>Writes the current version of the event as UTF-8 JSON.</summary>
    /// <param name="event">The event.</param>
    /// <param name="output">Where the JSON goes.</param>
    public abstract void Write(TEvent @event, IBufferWriter<byte> output);

    /// <summary>Reads JSON stored at <paramref name="storedSchemaVersion"/> and upcasts it to the current version.</summary>
    /// <param name="utf8Json">The stored JSON.</param>
    /// <param name="storedSchemaVersion">The version the JSON was written with.</param>
    public abstract TEvent Read(ReadOnlySpan<byte> utf8Json, int storedSchemaVersion);

    /// <inheritdoc />
    public sealed override void Serialize(object @event, IBufferWriter<byte> output) => Write((TEvent)@event, output);

    /// <inheritdoc />
    public sealed override object Deserialize(ReadOnlySpan<byte> utf8Json, int storedSchemaVersion) =>
        Read(utf8Json, storedSchemaVersion);
}
