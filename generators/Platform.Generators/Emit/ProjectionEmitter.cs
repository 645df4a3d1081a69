using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Platform.Definitions;
using Platform.Definitions.Compatibility;
using Platform.Definitions.Model;
using Platform.Generators.Model;

namespace Platform.Generators.Emit;

/// <summary>
/// A projection: the EF Core entity of its read model, the entity's configuration, and a handler
/// that applies the declared updates. Each row records the global position of the last event
/// applied to it, and an event at or below that position changes nothing.
/// </summary>
internal static class ProjectionEmitter
{
    public static void Emit(CodeWriter w, ProjectionDefinition p, TypeIndex index)
    {
        var ns = p.Namespace;
        var keys = p.Keys;
        var fields = new Dictionary<string, FieldDefinition>();
        foreach (var keyField in keys) fields[keyField.Name] = keyField;
        foreach (var field in p.Fields) fields[field.Name] = field;

        w.Line($"/// <summary>A row of the <c>{p.Name}</c> read model.</summary>");
        w.Line(SourceFile.GeneratedCode);
        using (w.Block($"public sealed partial class {p.Name}"))
        {
            foreach (var keyField in keys)
                w.Line($"public {CSharpTypes.Of(keyField.Type, ns, index)} {Names.Pascal(keyField.Name)} {{ get; set; }}{Init(keyField.Type, ns, index)}");
            foreach (var field in p.Fields)
                w.Line($"public {CSharpTypes.Of(field.Type, ns, index)} {Names.Pascal(field.Name)} {{ get; set; }}{Init(field.Type, ns, index)}");
            w.Line();
            w.Line("/// <summary>Global position of the last event applied to this row; older or repeated events are skipped.</summary>");
            w.Line("public long LastAppliedPosition { get; set; }");
        }
        w.Line();

        w.Line($"/// <summary>The table of <see cref=\"{p.Name}\"/>: snake_case names, keyed by <c>{string.Join(", ", keys.Select(k => k.Name))}</c>.</summary>");
        w.Line(SourceFile.GeneratedCode);
        using (w.Block($"public sealed partial class {p.Name}Configuration : global::Microsoft.EntityFrameworkCore.IEntityTypeConfiguration<{p.Name}>"))
        {
            w.Line($"public const string DefaultTableName = {CSharpLiteral.String(Snake(p.Name))};");
            w.Line();
            w.Line("/// <summary>The table to map; a rebuild maps a shadow table with another name.</summary>");
            w.Line("public string TableName { get; init; } = DefaultTableName;");
            w.Line();
            using (w.Block($"public void Configure(global::Microsoft.EntityFrameworkCore.Metadata.Builders.EntityTypeBuilder<{p.Name}> builder)"))
            {
                w.Line("global::Microsoft.EntityFrameworkCore.RelationalEntityTypeBuilderExtensions.ToTable(builder, TableName);");
                w.Line(keys.Count == 1
                    ? $"builder.HasKey(x => x.{Names.Pascal(p.Key.Name)});"
                    : $"builder.HasKey(x => new {{ {string.Join(", ", keys.Select(k => "x." + Names.Pascal(k.Name)))} }});");
                foreach (var keyField in keys)
                    w.Line($"Column(builder.Property(x => x.{Names.Pascal(keyField.Name)}), {CSharpLiteral.String(Snake(keyField.Name))}).ValueGeneratedNever();");
                foreach (var field in p.Fields)
                {
                    var column = $"Column(builder.Property(x => x.{Names.Pascal(field.Name)}), {CSharpLiteral.String(Snake(field.Name))})";
                    w.Line(StoredAsJson(field.Type, index)
                        ? column + $".HasConversion({Names.Pascal(field.Name)}Json.Converter, {Names.Pascal(field.Name)}Json.Comparer).HasAnnotation(global::Platform.Projections.JsonColumn.Annotation, true);"
                        : column + ";");
                }
                w.Line("Column(builder.Property(x => x.LastAppliedPosition), \"last_applied_position\");");
            }
            w.Line();
            using (w.Block("static global::Microsoft.EntityFrameworkCore.Metadata.Builders.PropertyBuilder<T> Column<T>(global::Microsoft.EntityFrameworkCore.Metadata.Builders.PropertyBuilder<T> property, string name)"))
            {
                w.Line("return global::Microsoft.EntityFrameworkCore.RelationalPropertyBuilderExtensions.HasColumnName(property, name);");
            }
            foreach (var field in p.Fields)
                if (StoredAsJson(field.Type, index))
                    EmitJsonColumn(w, field, ns, index);
        }
        w.Line();

        w.Line($"/// <summary>Applies events to the <c>{p.Name}</c> read model.</summary>");
        w.Line(SourceFile.GeneratedCode);
        using (w.Block($"public sealed partial class {p.Name}Projection"))
        {
            w.Line($"public const string ProjectionName = {CSharpLiteral.String(p.Name)};");
            w.Line();
            w.Line("/// <summary>");
            w.Line("/// The declaration's fingerprint (key, fields, the aggregate, every handler, its revision). The runtime stores it with the");
            w.Line("/// read model and rebuilds the table when a build declares the projection differently.");
            w.Line("/// </summary>");
            w.Line($"public const string DefinitionFingerprint = {CSharpLiteral.String(Fingerprint(p, index))};");
            w.Line();
            w.Line("/// <summary>The stored type names of the events this projection reads.</summary>");
            w.Append("public static global::System.Collections.Generic.IReadOnlyList<string> EventTypes { get; } = new string[] { ");
            var first = true;
            foreach (var handler in p.Handlers)
            {
                var message = index.FindMessage(handler.Event);
                if (message is null) continue;
                w.Append((first ? "" : ", ") + Names.Global(message.Namespace, message.Name) + ".EventTypeName");
                first = false;
            }
            w.Line(" };");
            EmitPersonalEventTypes(w, p, index);
            w.Line();
            w.Line("/// <summary>Hand-written effects beyond the declared ones, called after them for each applied event.</summary>");
            w.Line($"partial void OnApplied({p.Name} row, global::Platform.Events.EventEnvelope envelope);");
            w.Line();
            w.Line("/// <summary>Applies one event in the caller's unit of work; true when a row changed. Idempotent by global position.</summary>");
            using (w.Block("public async global::System.Threading.Tasks.ValueTask<bool> ApplyAsync(global::Microsoft.EntityFrameworkCore.DbContext db, global::Platform.Events.EventEnvelope envelope, global::System.Threading.CancellationToken cancellationToken = default)"))
            {
                var deletes = false;
                foreach (var handler in p.Handlers) deletes |= handler.Action == ProjectionAction.Delete;
                w.Line($"var rows = db.Set<{p.Name}>();");
                w.Line("var known = db as global::Platform.Projections.IKnownAbsentRows;");
                using (w.Block("switch (envelope.Event)"))
                {
                    foreach (var handler in p.Handlers)
                    {
                        var message = index.FindMessage(handler.Event);
                        if (message is null) continue;
                        w.Line($"case {Names.Global(message.Namespace, message.Name)} e:");
                        w.Line("{");
                        var scope = new ExpressionScope(Expressions.EventFields("e", message, index, "envelope.StreamId"), ExpressionScope.FromEnvelope("envelope", nullable: false),
                            Expressions.EventTypes(message, index));
                        // An event the handler's conditions leave out changes nothing, its row's position included.
                        foreach (var condition in handler.Where)
                            w.Line($"    if (!({Conditions.Of(condition, scope.Field(condition.Subject), scope.TypeOf(condition.Subject), scope, ns, index)})) return false;");
                        if (keys.Count == 1)
                        {
                            w.Line("    " + KeyStatement(p.Key, handler.Key, handler, index, ns, "key"));
                            w.Line("    var row = known is not null && known.IsKnownAbsent(key) ? null : await rows.FindAsync(new object[] { key }, cancellationToken);");
                        }
                        else
                        {
                            // A composite key: the batch prefetch covers single keys only, so each row is found.
                            var values = handler.Keys;
                            for (var k = 0; k < keys.Count && k < values.Count; k++)
                                w.Line("    " + KeyStatement(keys[k], values[k], handler, index, ns, "key" + k));
                            w.Line($"    var row = await rows.FindAsync(new object[] {{ {string.Join(", ", keys.Select((_, k) => "key" + k))} }}, cancellationToken);");
                        }
                        // A row deleted by an earlier event of the batch is still tracked, and Find returns it:
                        // it is absent (an insert adds a new row of that key, which EF Core saves as a
                        // replacement). Only a projection that deletes pays for the look (Entry detects changes).
                        if (deletes)
                            w.Line("    if (row is not null && db.Entry(row).State == global::Microsoft.EntityFrameworkCore.EntityState.Deleted) row = null;");
                        w.Line("    if (row is not null && row.LastAppliedPosition >= envelope.GlobalPosition) return false;");
                        switch (handler.Action)
                        {
                            case ProjectionAction.Delete:
                                w.Line("    if (row is null) return false;");
                                w.Line("    rows.Remove(row);");
                                w.Line("    return true;");
                                w.Line("}");
                                continue;
                            case ProjectionAction.Update:
                                w.Line("    if (row is null) return false;");
                                break;
                            default:
                                w.Line("    if (row is null)");
                                w.Line("    {");
                                w.Line(keys.Count == 1
                                    ? $"        row = new {p.Name} {{ {Names.Pascal(p.Key.Name)} = key }};"
                                    : $"        row = new {p.Name} {{ {string.Join(", ", keys.Select((k, i) => Names.Pascal(k.Name) + " = key" + i))} }};");
                                w.Line("        rows.Add(row);");
                                w.Line("    }");
                                break;
                        }
                        foreach (var update in handler.Set)
                        {
                            if (!fields.TryGetValue(update.Target, out var target)) continue;
                            var property = "row." + Names.Pascal(update.Target);
                            switch (update.Operation)
                            {
                                case UpdateOperation.Add or UpdateOperation.Remove:
                                    w.Line("    " + ListUpdates.Statement(property, update, target.Type, scope, ns, index));
                                    break;
                                case UpdateOperation.Increment or UpdateOperation.Decrement:
                                    w.Line($"    {Expressions.Increment(property, update.Operation, target.Type, Expressions.Of(update.Value, target.Type with { IsOptional = false }, scope, ns, index))};");
                                    break;
                                default:
                                    w.Line($"    {property} = {Expressions.Of(update.Value, target.Type, scope, ns, index)};");
                                    break;
                            }
                        }
                        w.Line("    row.LastAppliedPosition = envelope.GlobalPosition;");
                        w.Line("    OnApplied(row, envelope);");
                        w.Line("    return true;");
                        w.Line("}");
                    }
                }
                w.Line("return false;");
            }
            if (p.Handlers.Any(h => h.Set.Any(u => u.Operation is UpdateOperation.Add or UpdateOperation.Remove)))
            {
                w.Line();
                ListUpdates.EmitHelpers(w);
            }
        }
    }

    /// <summary>
    /// A column EF Core cannot map by itself (a value type, a map, a list of those): stored as JSON
    /// text, written and read by the generated JSON code, as in events. A list of primitives or
    /// enums stays EF Core's own (an array on PostgreSQL, JSON on SQLite).
    /// </summary>
    static bool StoredAsJson(TypeRef type, TypeIndex index) => type.Kind switch
    {
        TypeKind.Primitive or TypeKind.Enum => false,
        TypeKind.List => type.Element!.Kind is not (TypeKind.Primitive or TypeKind.Enum) && !IsNamedEnum(type.Element, index),
        TypeKind.Map => true,
        _ => !IsNamedEnum(type, index),
    };

    static bool IsNamedEnum(TypeRef type, TypeIndex index) => type.Kind == TypeKind.Named && index.FindType(type.Name)?.IsEnum == true;

    /// <summary>
    /// <c>{Field}Json</c>: the column's converter to JSON text and a comparer on that text (a row's
    /// value is replaced, never changed in place, but EF Core compares snapshots by value).
    /// </summary>
    static void EmitJsonColumn(CodeWriter w, FieldDefinition field, string ns, TypeIndex index)
    {
        var name = Names.Pascal(field.Name) + "Json";
        var type = CSharpTypes.Of(field.Type with { IsOptional = false }, ns, index);
        var json = new JsonEmitter(ns, index);
        w.Line();
        using (w.Block($"static class {name}"))
        {
            w.Line($"public static readonly global::Microsoft.EntityFrameworkCore.Storage.ValueConversion.ValueConverter<{type}, string> Converter = new(v => Write(v), s => Read(s));");
            w.Line();
            w.Line($"public static readonly global::Microsoft.EntityFrameworkCore.ChangeTracking.ValueComparer<{type}> Comparer = new(");
            w.Line("    (a, b) => a == null ? b == null : b != null && Write(a) == Write(b),");
            w.Line("    v => Write(v).GetHashCode(),");
            w.Line("    v => Read(Write(v)));");
            w.Line();
            using (w.Block($"static string Write({type} value)"))
            {
                w.Line("var buffer = new global::System.Buffers.ArrayBufferWriter<byte>();");
                w.Line("var output = new global::Platform.Serialization.JsonOutput(buffer);");
                json.WriteValue(w, field.Type with { IsOptional = false }, "value");
                w.Line("output.Commit();");
                w.Line("return global::System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);");
            }
            w.Line();
            using (w.Block($"static {type} Read(string text)"))
            {
                w.Line("var reader = new global::System.Text.Json.Utf8JsonReader(global::System.Text.Encoding.UTF8.GetBytes(text));");
                w.Line("reader.Read();");
                w.Line($"{type} value;");
                json.ReadValue(w, field.Type with { IsOptional = false }, "value");
                w.Line("return value;");
            }
        }
    }

    static string Init(TypeRef type, string ns, TypeIndex index)
    {
        var value = CSharpTypes.Default(type, ns, index);
        return value is "default" or "null" ? string.Empty : " = " + value + ";";
    }

    // Declares the variable holding one key field's value. A value the event may leave unset (an
    // optional field, a member of an optional value) selects no row when it is: the event changes
    // nothing, where a null key would fail the lookup and park the projection.
    static string KeyStatement(FieldDefinition keyField, ValueExpr value, ProjectionHandler handler, TypeIndex index, string ns, string variable)
    {
        var message = index.FindMessage(handler.Event);
        var mayBeAbsent = message is not null && Expressions.MayBeAbsent(value, Expressions.EventTypes(message, index), index);
        if (!mayBeAbsent)
            return $"var {variable} = {KeyExpression(keyField, value, handler, index, ns)};";
        var asRead = keyField with { Type = keyField.Type with { IsOptional = true } }; // no default for an absent value
        return $"if ({KeyExpression(asRead, value, handler, index, ns)} is not {{ }} {variable}) return false;";
    }

    // The value of one key field, from the handler's event.
    static string KeyExpression(FieldDefinition keyField, ValueExpr value, ProjectionHandler handler, TypeIndex index, string ns)
    {
        if (value.Kind == ValueKind.Metadata && value.Metadata == MetadataField.AggregateId)
        {
            return keyField.Type.Primitive switch
            {
                PrimitiveType.Guid => "global::System.Guid.Parse(envelope.StreamId)",
                PrimitiveType.Long => "long.Parse(envelope.StreamId, global::System.Globalization.CultureInfo.InvariantCulture)",
                PrimitiveType.Int => "int.Parse(envelope.StreamId, global::System.Globalization.CultureInfo.InvariantCulture)",
                _ => "envelope.StreamId",
            };
        }
        var message = index.FindMessage(handler.Event);
        var fields = message is null ? name => "e." + Names.Pascal(name) : Expressions.EventFields("e", message, index, "envelope.StreamId");
        var scope = new ExpressionScope(fields, ExpressionScope.FromEnvelope("envelope", nullable: false), message is null ? null : Expressions.EventTypes(message, index));
        return Expressions.Of(value, keyField.Type, scope, ns, index);
    }

    /// <summary><c>OrderSummary</c> -&gt; <c>order_summary</c>.</summary>
    public static string Snake(string name)
    {
        var builder = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            var character = name[i];
            if (char.IsUpper(character))
            {
                if (i > 0) builder.Append('_');
                builder.Append(char.ToLowerInvariant(character));
            }
            else
            {
                builder.Append(character);
            }
        }
        return builder.ToString();
    }
    // What the table and its rows depend on, without source positions, so that moving or
    // commenting the YAML changes nothing: fields, handlers (one per event) and their assignments
    // (each to its own column, from the event) in name order, which does not change the result;
    // and, for each event field a handler reads, how stored earlier versions of the event make it
    // (a changed upcast default changes what a rebuild would write). The leading tag versions the
    // text itself.
    // The event field a condition tests, as a value for the lineage.
    static ValueExpr ConditionSubject(Condition c) =>
        new(ValueKind.Field, "$" + c.Subject, LiteralKind.None, MetadataField.None, new EquatableArray<string>(new[] { c.Subject }), EquatableArray<string>.Empty, c.Span);

    /// <summary>
    /// The events whose personal fields a handler reads (key, where or set): a stream erased of
    /// one leaves its copies in this read model until it is rebuilt. Nothing for a projection that
    /// reads none, as before personal data was declared.
    /// </summary>
    static void EmitPersonalEventTypes(CodeWriter w, ProjectionDefinition p, TypeIndex index)
    {
        var types = new List<string>();
        foreach (var handler in p.Handlers)
        {
            if (index.FindMessage(handler.Event) is not { IsEvent: true } message) continue;
            var personal = new HashSet<string>();
            foreach (var field in message.Fields)
                if (field.IsPersonal) personal.Add(field.Name);
            var type = Names.Global(message.Namespace, message.Name) + ".EventTypeName";
            if (personal.Count > 0 && ReadsAny(handler, personal) && !types.Contains(type)) types.Add(type);
        }
        if (types.Count == 0) return;
        w.Line();
        w.Line("/// <summary>The stored type names of the events whose personal fields this projection copies: erasing a stream with one calls for a rebuild.</summary>");
        w.Line($"public static global::System.Collections.Generic.IReadOnlyList<string> PersonalEventTypes {{ get; }} = new string[] {{ {string.Join(", ", types)} }};");
    }

    static bool ReadsAny(ProjectionHandler handler, HashSet<string> fields)
    {
        bool Reads(ValueExpr value) =>
            value.Kind is ValueKind.Field or ValueKind.Count or ValueKind.Sum && value.Path.Count > 0 && fields.Contains(value.Path[0])
            || value.Kind == ValueKind.Sum && value.Factor.Count > 0 && fields.Contains(value.Factor[0]);
        foreach (var key in handler.Keys)
            if (Reads(key)) return true;
        foreach (var condition in handler.Where)
        {
            if (fields.Contains(condition.Subject)) return true;
            foreach (var operand in condition.Operands)
                if (Reads(operand)) return true;
        }
        foreach (var update in handler.Set)
            if (Reads(update.Value)) return true;
        return false;
    }

    static string Fingerprint(ProjectionDefinition p, TypeIndex index)
    {
        var canonical = new StringBuilder("projection/1;");
        canonical.Append("aggregate=").Append(p.Aggregate?.Name).Append(';');
        foreach (var keyField in p.Keys)
            canonical.Append("key=").Append(keyField.Name).Append(':').Append(keyField.Type.Display).Append(';');
        foreach (var field in p.Fields.OrderBy(f => f.Name, StringComparer.Ordinal))
            canonical.Append("field=").Append(field.Name).Append(':').Append(field.Type.Display).Append(';');
        foreach (var handler in p.Handlers.OrderBy(h => h.Event, StringComparer.Ordinal))
        {
            canonical.Append("on=").Append(handler.Event).Append(':').Append(handler.Action).Append(":key=");
            foreach (var key in handler.Keys) DeclarationText.Value(canonical, key);
            DeclarationText.Conditions(canonical, handler.Where);
            DeclarationText.Updates(canonical, handler.Set);
            if (index.FindMessage(handler.Event) is { Lineage.IsEmpty: false } message)
            {
                var values = handler.Set.Select(u => u.Value).Concat(handler.Keys)
                    .Concat(handler.Where.SelectMany(c => c.Operands.Append(ConditionSubject(c))));
                foreach (var read in DeclarationText.Reads(values))
                    foreach (var lineage in message.Lineage)
                        if (lineage.Field == read)
                            canonical.Append(":from=").Append(read).Append('<').Append(lineage.Text).Append('>');
            }
            canonical.Append(';');
        }
        // JSON columns became jsonb on PostgreSQL: a table made before has text columns, and is rebuilt.
        if (p.Fields.Any(f => StoredAsJson(f.Type, index))) canonical.Append("json=jsonb;");
        // Revision 1 adds nothing, so declaring it keeps the fingerprint of a projection without one.
        if (p.Revision > 1) canonical.Append("revision=").Append(p.Revision.ToString(CultureInfo.InvariantCulture)).Append(';');
        return SourceFile.Hash(canonical.ToString());
    }
}
