using System.Collections.Generic;
using System.Globalization;
using Platform.Definitions;
using Platform.Definitions.Model;
using Platform.Generators.Model;

namespace Platform.Generators.Emit;

/// <summary>
/// One event: a record per version (current under the plain name, older ones <c>NameV1</c>...),
/// reflection-free JSON for each, the upcast chain to the current version, and the
/// <c>EventTypeDescriptor</c> the store and transports use.
/// </summary>
internal static class EventEmitter
{
    public static void Emit(CodeWriter w, EventDefinition e, TypeIndex index)
    {
        var ns = e.Namespace;
        var json = new JsonEmitter(ns, index);

        w.Line($"/// <summary>{Kind(e.Kind)} event <c>{e.Name}</c>, schema version {e.Version} (current); its stored name is <see cref=\"EventTypeName\"/>.</summary>");
        w.Line(SourceFile.GeneratedCode);
        RecordEmitter.Record(w, e.Name, ns, e.Fields, index);
        using (w.Block(""))
        {
            w.Line("/// <summary>The stable store and wire name, independent of the C# name.</summary>");
            w.Line($"public const string EventTypeName = {CSharpLiteral.String(e.TypeName)};");
            w.Line();
            w.Line("/// <summary>The current schema version.</summary>");
            w.Line($"public const int SchemaVersion = {e.Version.ToString(CultureInfo.InvariantCulture)};");
            w.Line();
            json.EmitRecordMembers(w, e.Name, e.Name + " v" + e.Version.ToString(CultureInfo.InvariantCulture), e.Fields);
        }

        foreach (var previous in e.Previous)
        {
            var name = VersionName(e, previous.Version);
            w.Line();
            w.Line($"/// <summary><c>{e.Name}</c> as stored at schema version {previous.Version}; read only to be upcast.</summary>");
            w.Line(SourceFile.GeneratedCode);
            RecordEmitter.Record(w, name, ns, previous.Fields, index);
            using (w.Block(""))
            {
                w.Line($"public const int SchemaVersion = {previous.Version.ToString(CultureInfo.InvariantCulture)};");
                w.Line();
                json.EmitRecordMembers(w, name, e.Name + " v" + previous.Version.ToString(CultureInfo.InvariantCulture), previous.Fields);
            }
        }

        w.Line();
        EmitDescriptor(w, e, index);
    }

    public static string VersionName(EventDefinition e, int version) =>
        version == e.Version ? e.Name : e.Name + "V" + version.ToString(CultureInfo.InvariantCulture);

    static void EmitDescriptor(CodeWriter w, EventDefinition e, TypeIndex index)
    {
        var type = e.Name + "EventType";
        w.Line($"/// <summary>How <see cref=\"{e.Name}\"/> is written, read and upcast; register it with the event store.</summary>");
        w.Line(SourceFile.GeneratedCode);
        using (w.Block($"public sealed partial class {type} : global::Platform.Events.EventTypeDescriptor<{e.Name}>"))
        {
            w.Line($"public static {type} Instance {{ get; }} = new();");
            w.Line();
            w.Line($"public override string TypeName => {e.Name}.EventTypeName;");
            w.Line();
            w.Line($"public override int SchemaVersion => {e.Name}.SchemaVersion;");
            w.Line();
            using (w.Block($"public override void Write({e.Name} @event, global::System.Buffers.IBufferWriter<byte> output)"))
            {
                w.Line("var json = new global::Platform.Serialization.JsonOutput(output);");
                w.Line($"{e.Name}.WriteJson(ref json, @event);");
                w.Line("json.Commit();");
            }
            w.Line();
            using (w.Block($"public override {e.Name} Read(global::System.ReadOnlySpan<byte> utf8Json, int storedSchemaVersion)"))
            {
                w.Line("var reader = new global::System.Text.Json.Utf8JsonReader(utf8Json);");
                w.Line("reader.Read();");
                using (w.Block("switch (storedSchemaVersion)"))
                {
                    w.Line($"case {e.Version.ToString(CultureInfo.InvariantCulture)}:");
                    w.Line($"    return {e.Name}.ReadJson(ref reader);");
                    foreach (var previous in e.Previous)
                    {
                        w.Line($"case {previous.Version.ToString(CultureInfo.InvariantCulture)}:");
                        w.Line($"    return {UpcastChain(e, previous.Version, $"{VersionName(e, previous.Version)}.ReadJson(ref reader)")};");
                    }
                    w.Line("default:");
                    w.Line($"    throw new global::System.Text.Json.JsonException({CSharpLiteral.String(e.TypeName + ": schema version ")} + storedSchemaVersion.ToString(global::System.Globalization.CultureInfo.InvariantCulture) + {CSharpLiteral.String(" is not known to this build (current is " + e.Version.ToString(CultureInfo.InvariantCulture) + ")")});");
                }
            }

            EmitPersonalFields(w, e);
            var versions = new List<EventVersionDefinition>(e.Previous);
            versions.Sort((a, b) => a.Version.CompareTo(b.Version));
            if (versions.Count > 0)
                EmitVersionTypes(w, e);
            foreach (var previous in versions)
            {
                w.Line();
                EmitUpcast(w, e, previous, versions, index);
            }
        }
    }

    /// <summary>The personal fields of each stored version and what erasing writes over them (nothing for an event without).</summary>
    static void EmitPersonalFields(CodeWriter w, EventDefinition e)
    {
        var versions = PersonalData.ByVersion(e);
        if (versions.Count == 0) return;
        const string Field = "global::Platform.Events.PersonalField";
        w.Line();
        w.Open($"public override global::System.Collections.Generic.IReadOnlyList<{Field}> PersonalFields(int schemaVersion) => schemaVersion switch");
        foreach (var version in versions)
            w.Line($"{version.Key.ToString(CultureInfo.InvariantCulture)} => s_personalV{version.Key.ToString(CultureInfo.InvariantCulture)},");
        w.Line($"_ => global::System.Array.Empty<{Field}>(),");
        w.Close(";");
        foreach (var version in versions)
        {
            var fields = new List<string>();
            foreach (var field in version.Value)
                fields.Add($"new {Field}({CSharpLiteral.String(field.Name)}, {CSharpLiteral.String(PersonalData.ErasedJson(field.Type) ?? "null")})");
            w.Line();
            w.Line($"static readonly {Field}[] s_personalV{version.Key.ToString(CultureInfo.InvariantCulture)} = [{string.Join(", ", fields)}];");
        }
    }

    /// <summary>
    /// The record of each version and the upcast from an instance of one, for a transport whose
    /// messages were serialized as objects by another build (MassTransit's JSON on RabbitMQ).
    /// </summary>
    static void EmitVersionTypes(CodeWriter w, EventDefinition e)
    {
        w.Line();
        w.Open("public override global::System.Type? ClrTypeOf(int schemaVersion) => schemaVersion switch");
        w.Line($"{e.Version.ToString(CultureInfo.InvariantCulture)} => typeof({e.Name}),");
        foreach (var previous in e.Previous)
            w.Line($"{previous.Version.ToString(CultureInfo.InvariantCulture)} => typeof({VersionName(e, previous.Version)}),");
        w.Line("_ => null,");
        w.Close(";");
        w.Line();
        w.Open("public override object Upcast(object @event) => @event switch");
        w.Line($"{e.Name} current => current,");
        foreach (var previous in e.Previous)
        {
            var v = "v" + previous.Version.ToString(CultureInfo.InvariantCulture);
            w.Line($"{VersionName(e, previous.Version)} {v} => {UpcastChain(e, previous.Version, v)},");
        }
        w.Line("_ => base.Upcast(@event),");
        w.Close(";");
    }

    /// <summary><c>UpcastV2(UpcastV1(read))</c> up to the current version.</summary>
    static string UpcastChain(EventDefinition e, int from, string read)
    {
        var versions = new List<int>();
        foreach (var previous in e.Previous) versions.Add(previous.Version);
        versions.Sort();
        var expression = read;
        foreach (var version in versions)
            if (version >= from) expression = $"UpcastV{version.ToString(CultureInfo.InvariantCulture)}({expression})";
        return expression;
    }

    static void EmitUpcast(CodeWriter w, EventDefinition e, EventVersionDefinition from, List<EventVersionDefinition> versions, TypeIndex index)
    {
        var next = versions.Find(v => v.Version > from.Version);
        var nextVersion = next?.Version ?? e.Version;
        var nextFields = next?.Fields ?? e.Fields;
        var source = VersionName(e, from.Version);
        var target = VersionName(e, nextVersion);
        var method = "UpcastV" + from.Version.ToString(CultureInfo.InvariantCulture);
        w.Line($"/// <summary>Schema version {from.Version} to {nextVersion}.</summary>");
        if (from.Upcaster is not null)
        {
            // Hand-written: the service implements this partial method in its own file.
            w.Line($"public static {target} {method}({source} source) => {from.Upcaster}(source);");
            w.Line();
            // private: C# requires an accessibility modifier on a partial method that returns a
            // value (CS8796); without it no hand-written upcaster could compile (issue 9).
            w.Line($"private static partial {target} {from.Upcaster}({source} source);");
            return;
        }
        var oldFields = new Dictionary<string, FieldDefinition>();
        foreach (var field in from.Fields) oldFields[field.Name] = field;
        var steps = new Dictionary<string, UpcastStep>();
        foreach (var step in from.Upcast) steps[step.Field] = step;
        var scope = new ExpressionScope(name => "source." + Names.Pascal(name), _ => "default", ExpressionScope.Types(from.Fields));

        w.Line($"public static {target} {method}({source} source) => new(");
        for (var i = 0; i < nextFields.Count; i++)
        {
            var field = nextFields[i];
            oldFields.TryGetValue(field.Name, out var old);
            steps.TryGetValue(field.Name, out var step);
            string value;
            if (step is { Operation: UpcastOperation.Rename, From: not null })
            {
                value = Expressions.Convert("source." + Names.Pascal(step.From), scope.TypeOf(step.From), field.Type, e.Namespace, index);
            }
            else if (step is { Operation: UpcastOperation.Default, Value: not null } && old is not null)
            {
                // A default fills what the earlier version left empty; a value it has is kept.
                var kept = Expressions.Convert("source." + Names.Pascal(field.Name), old.Type, field.Type with { IsOptional = old.Type.IsOptional }, e.Namespace, index);
                value = old.Type.IsOptional ? $"{kept} ?? {Expressions.Of(step.Value, field.Type, scope, e.Namespace, index)}" : kept;
            }
            else if (step is { Operation: UpcastOperation.Default or UpcastOperation.Compute, Value: not null })
            {
                value = Expressions.Of(step.Value, field.Type, scope, e.Namespace, index);
            }
            else if (old is not null)
            {
                value = "source." + Names.Pascal(field.Name);
                if (old.Type.IsOptional && !field.Type.IsOptional)
                    value += " ?? " + CSharpTypes.Default(field.Type with { IsOptional = false }, e.Namespace, index);
                value = Expressions.Convert(value, old.Type with { IsOptional = old.Type.IsOptional && field.Type.IsOptional }, field.Type, e.Namespace, index);
            }
            else
            {
                value = CSharpTypes.Default(field.Type, e.Namespace, index);
            }
            w.Line($"    {Names.Pascal(field.Name)}: {value}{(i + 1 < nextFields.Count ? "," : ");")}");
        }
        if (nextFields.Count == 0) w.Line(");");
    }

    static string Kind(EventKind kind) => kind switch
    {
        EventKind.Integration => "Integration",
        EventKind.Notification => "Notification",
        _ => "Domain",
    };
}
