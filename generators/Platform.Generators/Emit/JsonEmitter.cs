using Platform.Definitions;
using Platform.Definitions.Model;
using Platform.Generators.Model;

namespace Platform.Generators.Emit;

/// <summary>
/// Writes reflection-free JSON code per record: a writer onto <c>Platform.Serialization.JsonOutput</c>
/// (pre-encoded names, no per-token bookkeeping) and a <c>Utf8JsonReader</c> reader. Property names are the YAML field names, so the
/// stored JSON is independent of C# naming. Unknown properties are skipped (a newer writer may
/// add fields); a missing required one is a <c>JsonException</c> that names it.
/// </summary>
internal sealed class JsonEmitter(string ownerNamespace, TypeIndex index)
{
    int locals;

    /// <summary>Emits <c>WriteJson</c> and <c>ReadJson</c> for a record with the given fields.</summary>
    /// <param name="settable">Build the value with property setters (state classes) rather than the primary constructor (records).</param>
    public void EmitRecordMembers(CodeWriter w, string typeName, string displayName, EquatableArray<FieldDefinition> fields, bool settable = false)
    {
        var type = Names.Global(ownerNamespace, typeName);
        w.Line("/// <summary>Writes this value as a JSON object; property names are the definition's field names.</summary>");
        w.Line("[global::System.ComponentModel.EditorBrowsable(global::System.ComponentModel.EditorBrowsableState.Never)]");
        using (w.Block($"public static void WriteJson(ref global::Platform.Serialization.JsonOutput output, {type} value)"))
        {
            if (fields.Count == 0) w.Line("output.Raw(\"{}\"u8);");
            for (var i = 0; i < fields.Count; i++)
            {
                // The punctuation and the property name are one literal: names are checked ASCII identifiers.
                var prefix = (i == 0 ? "{" : ",") + "\"" + fields[i].Name + "\":";
                w.Line($"output.Raw({CSharpLiteral.String(prefix)}u8);");
                WriteValue(w, fields[i].Type, "value." + Names.Pascal(fields[i].Name));
            }
            if (fields.Count > 0) w.Line("output.Raw(\"}\"u8);");
        }
        w.Line();
        w.Line("/// <summary>Reads a JSON object written by <see cref=\"WriteJson\"/> or by an older writer with fewer optional fields.</summary>");
        w.Line("[global::System.ComponentModel.EditorBrowsable(global::System.ComponentModel.EditorBrowsableState.Never)]");
        using (w.Block($"public static {type} ReadJson(ref global::System.Text.Json.Utf8JsonReader reader)"))
        {
            w.Line("if (reader.TokenType != global::System.Text.Json.JsonTokenType.StartObject)");
            w.Line($"    throw new global::System.Text.Json.JsonException({CSharpLiteral.String(displayName + ": expected a JSON object")});");
            foreach (var field in fields)
            {
                w.Line($"{CSharpTypes.Of(field.Type, ownerNamespace, index)} {Local(field)} = {CSharpTypes.Default(field.Type, ownerNamespace, index)};");
                if (!field.Type.IsOptional) w.Line($"bool {Has(field)} = false;");
            }
            using (w.Block("while (reader.Read() && reader.TokenType != global::System.Text.Json.JsonTokenType.EndObject)"))
            {
                var first = true;
                foreach (var field in fields)
                {
                    w.Open($"{(first ? "if" : "else if")} (reader.ValueTextEquals({CSharpLiteral.String(field.Name)}u8))");
                    w.Line("reader.Read();");
                    ReadValue(w, field.Type, Local(field));
                    if (!field.Type.IsOptional) w.Line($"{Has(field)} = true;");
                    w.Close();
                    first = false;
                }
                if (fields.Count > 0)
                {
                    using (w.Block("else"))
                    {
                        w.Line("reader.Read();");
                        w.Line("reader.Skip();");
                    }
                }
                else
                {
                    w.Line("reader.Read();");
                    w.Line("reader.Skip();");
                }
            }
            foreach (var field in fields)
            {
                if (field.Type.IsOptional) continue;
                w.Line($"if (!{Has(field)}) throw new global::System.Text.Json.JsonException({CSharpLiteral.String(displayName + ": required field '" + field.Name + "' is missing")});");
            }
            if (settable)
            {
                w.Line($"return new {type}");
                w.Line("{");
                foreach (var field in fields)
                    w.Line($"    {Names.Pascal(field.Name)} = {Local(field)},");
                w.Line("};");
            }
            else
            {
                w.Append($"return new {type}(");
                for (var i = 0; i < fields.Count; i++)
                    w.Append((i == 0 ? "" : ", ") + Local(fields[i]));
                w.Line(");");
            }
        }
    }

    // Three disjoint sets of names, none of them a parameter's (reader, output, value) whatever the
    // fields are called: v_{field} holds a field's value, h_{field} whether it was read, __{stem}{n}
    // the helpers of one value.
    static string Local(FieldDefinition field) => "v_" + field.Name;

    static string Has(FieldDefinition field) => "h_" + field.Name;

    string NextLocal(string stem) => "__" + stem + (++locals).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Writes the value of <paramref name="expression"/> (its property name already written).</summary>
    public void WriteValue(CodeWriter w, TypeRef type, string expression)
    {
        if (type.IsOptional)
        {
            w.Line($"if ({expression} is null) output.Null();");
            w.Open("else");
            WriteValue(w, type with { IsOptional = false }, CSharpTypes.IsValueType(type, index) ? expression + ".Value" : expression);
            w.Close();
            return;
        }
        switch (type.Kind)
        {
            case TypeKind.Primitive:
                w.Line(WritePrimitive(type.Primitive, expression));
                break;
            case TypeKind.List:
            {
                // Indexing instead of foreach: no boxed enumerator per list, no interface call per MoveNext.
                var list = NextLocal("list");
                var i = NextLocal("i");
                w.Line($"var {list} = {expression};");
                w.Line("output.Raw(\"[\"u8);");
                w.Open($"for (var {i} = 0; {i} < {list}.Count; {i}++)");
                w.Line($"if ({i} > 0) output.Raw(\",\"u8);");
                WriteValue(w, type.Element!, $"{list}[{i}]");
                w.Close();
                w.Line("output.Raw(\"]\"u8);");
                break;
            }
            case TypeKind.Map:
            {
                var pair = NextLocal("pair");
                var first = NextLocal("first");
                w.Line("output.Raw(\"{\"u8);");
                w.Line($"var {first} = true;");
                w.Open($"foreach (var {pair} in {expression})");
                w.Line($"if (!{first}) output.Raw(\",\"u8);");
                w.Line($"{first} = false;");
                w.Line($"output.String({KeyToString(type.Key!, pair + ".Key")});");
                w.Line("output.Raw(\":\"u8);");
                WriteValue(w, type.Element!, pair + ".Value");
                w.Close();
                w.Line("output.Raw(\"}\"u8);");
                break;
            }
            default:
                w.Line(IsEnum(type, out var ns)
                    ? $"output.String({Names.Global(ns, type.Name + "Json")}.ToName({expression}));"
                    : $"{Names.Global(ns, type.Name)}.WriteJson(ref output, {expression});");
                break;
        }
    }

    /// <summary>True for in-place and named enums; <paramref name="ns"/> is where the type is emitted.</summary>
    bool IsEnum(TypeRef type, out string ns)
    {
        if (type.Kind == TypeKind.Enum)
        {
            ns = ownerNamespace;
            return true;
        }
        var named = index.FindType(type.Name);
        ns = named?.Namespace ?? ownerNamespace;
        return named?.IsEnum == true;
    }

    static string WritePrimitive(PrimitiveType primitive, string expression) => primitive switch
    {
        PrimitiveType.Int or PrimitiveType.Long or PrimitiveType.Decimal or PrimitiveType.Double => $"output.Number({expression});",
        PrimitiveType.Bool => $"output.Boolean({expression});",
        _ => $"output.String({expression});",
    };

    static string KeyToString(TypeRef key, string expression) => key.Kind == TypeKind.Primitive && key.Primitive == PrimitiveType.String
        ? expression
        : $"global::System.Convert.ToString({expression}, global::System.Globalization.CultureInfo.InvariantCulture)!";

    /// <summary>Reads the value at the reader's current token into <paramref name="target"/>.</summary>
    public void ReadValue(CodeWriter w, TypeRef type, string target)
    {
        if (type.IsOptional)
        {
            w.Line($"if (reader.TokenType == global::System.Text.Json.JsonTokenType.Null) {target} = null;");
            w.Open("else");
            ReadValue(w, type with { IsOptional = false }, target);
            w.Close();
            return;
        }
        switch (type.Kind)
        {
            case TypeKind.Primitive:
                w.Line($"{target} = {ReadPrimitive(type.Primitive)};");
                break;
            case TypeKind.List:
            {
                var list = NextLocal("list");
                var item = NextLocal("item");
                var elementType = CSharpTypes.Of(type.Element!, ownerNamespace, index);
                w.Line($"var {list} = new global::System.Collections.Generic.List<{elementType}>();");
                w.Open("while (reader.Read() && reader.TokenType != global::System.Text.Json.JsonTokenType.EndArray)");
                w.Line($"{elementType} {item};");
                ReadValue(w, type.Element!, item);
                w.Line($"{list}.Add({item});");
                w.Close();
                w.Line($"{target} = {list};");
                break;
            }
            case TypeKind.Map:
            {
                var map = NextLocal("map");
                var key = NextLocal("key");
                var value = NextLocal("value");
                var keyType = CSharpTypes.Of(type.Key!, ownerNamespace, index);
                var valueType = CSharpTypes.Of(type.Element!, ownerNamespace, index);
                w.Line($"var {map} = new global::System.Collections.Generic.Dictionary<{keyType}, {valueType}>();");
                w.Open("while (reader.Read() && reader.TokenType != global::System.Text.Json.JsonTokenType.EndObject)");
                w.Line($"var {key} = {ParseKey(type.Key!, "reader.GetString()!")};");
                w.Line("reader.Read();");
                w.Line($"{valueType} {value};");
                ReadValue(w, type.Element!, value);
                w.Line($"{map}[{key}] = {value};");
                w.Close();
                w.Line($"{target} = {map};");
                break;
            }
            default:
                w.Line(IsEnum(type, out var ns)
                    ? $"{target} = {Names.Global(ns, type.Name + "Json")}.Read(ref reader);"
                    : $"{target} = {Names.Global(ns, type.Name)}.ReadJson(ref reader);");
                break;
        }
    }
    static string ReadPrimitive(PrimitiveType primitive) => primitive switch
    {
        PrimitiveType.Int => "reader.GetInt32()",
        PrimitiveType.Long => "reader.GetInt64()",
        PrimitiveType.Decimal => "reader.GetDecimal()",
        PrimitiveType.Double => "reader.GetDouble()",
        PrimitiveType.Bool => "reader.GetBoolean()",
        PrimitiveType.Guid => "reader.GetGuid()",
        PrimitiveType.Timestamp => "reader.GetDateTimeOffset()",
        PrimitiveType.Date => "global::System.DateOnly.ParseExact(reader.GetString()!, \"yyyy-MM-dd\", global::System.Globalization.CultureInfo.InvariantCulture)",
        _ => "reader.GetString()!",
    };

    string ParseKey(TypeRef key, string text) => key.Kind switch
    {
        TypeKind.Primitive => key.Primitive switch
        {
            PrimitiveType.String => text,
            PrimitiveType.Int => $"int.Parse({text}, global::System.Globalization.CultureInfo.InvariantCulture)",
            PrimitiveType.Long => $"long.Parse({text}, global::System.Globalization.CultureInfo.InvariantCulture)",
            PrimitiveType.Guid => $"global::System.Guid.Parse({text})",
            PrimitiveType.Bool => $"bool.Parse({text})",
            PrimitiveType.Decimal => $"decimal.Parse({text}, global::System.Globalization.CultureInfo.InvariantCulture)",
            PrimitiveType.Date => $"global::System.DateOnly.ParseExact({text}, \"yyyy-MM-dd\", global::System.Globalization.CultureInfo.InvariantCulture)",
            _ => $"global::System.DateTimeOffset.Parse({text}, global::System.Globalization.CultureInfo.InvariantCulture)",
        },
        _ => $"{Names.Global(index.FindType(key.Name)?.Namespace ?? ownerNamespace, key.Name + "Json")}.Parse({text})",
    };
}
