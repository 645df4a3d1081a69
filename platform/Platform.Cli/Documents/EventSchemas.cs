using System.Text.Json.Nodes;
using Platform.Definitions.Checks;
using Platform.Definitions.Model;

namespace Platform.Cli.Documents;

/// <summary>
/// A JSON Schema (draft 2020-12) per stored event version: what a schema registry would hold, and
/// what a consumer in another language can validate the platform's JSON against.
/// </summary>
internal static class EventSchemas
{
    public const string Draft = "https://json-schema.org/draft/2020-12/schema";

    /// <summary>File name and schema of every version of every event, in name and version order.</summary>
    public static IEnumerable<(string FileName, JsonObject Schema)> All(DefinitionSet set)
    {
        foreach (var e in set.Events.OrderBy(e => e.TypeName, StringComparer.Ordinal))
        {
            foreach (var version in e.Previous.Select(p => (p.Version, p.Fields)).Append((e.Version, e.Fields)).OrderBy(v => v.Version))
            {
                var schema = Object(version.Fields, set);
                schema.Insert(0, "$schema", Draft);
                schema.Insert(1, "$id", $"urn:platform:event:{e.TypeName}:v{version.Version}");
                schema.Insert(2, "title", $"{e.Name} v{version.Version}");
                schema["x-event-type"] = e.TypeName;
                schema["x-schema-version"] = version.Version;
                schema["x-kind"] = e.Kind.ToString().ToLowerInvariant();
                yield return ($"{e.TypeName}.v{version.Version}.schema.json", schema);
            }
        }
    }

    /// <summary>The schema of an object with the given fields; optional fields may be null or absent.</summary>
    public static JsonObject Object(IEnumerable<FieldDefinition> fields, DefinitionSet set)
    {
        var properties = new JsonObject();
        var required = new JsonArray();
        foreach (var field in fields)
        {
            properties[field.Name] = Type(field.Type, set);
            if (!field.Type.IsOptional) required.Add(field.Name);
        }
        return new JsonObject
        {
            ["type"] = "object",
            ["properties"] = properties,
            ["required"] = required,
        };
    }

    public static JsonNode Type(TypeRef type, DefinitionSet set)
    {
        JsonObject schema = type.Kind switch
        {
            TypeKind.List => new JsonObject { ["type"] = "array", ["items"] = Type(type.Element!, set) },
            TypeKind.Map => new JsonObject { ["type"] = "object", ["additionalProperties"] = Type(type.Element!, set) },
            TypeKind.Enum => Enum(type.EnumMembers),
            TypeKind.Named when set.Enums.FirstOrDefault(e => e.Name == type.Name) is { } named => Enum(named.Members.Select(m => m.Name)),
            TypeKind.Named when set.ValueTypes.FirstOrDefault(v => v.Name == type.Name) is { } value => Object(value.Fields, set),
            _ => Primitive(type.Primitive),
        };
        if (!type.IsOptional) return schema;
        return new JsonObject { ["anyOf"] = new JsonArray(schema, new JsonObject { ["type"] = "null" }) };
    }

    static JsonObject Enum(IEnumerable<string> members) =>
        new() { ["type"] = "string", ["enum"] = new JsonArray(members.Select(m => (JsonNode)JsonValue.Create(m)!).ToArray()) };

    static JsonObject Primitive(PrimitiveType primitive) => primitive switch
    {
        PrimitiveType.Int => new() { ["type"] = "integer", ["format"] = "int32" },
        PrimitiveType.Long => new() { ["type"] = "integer", ["format"] = "int64" },
        PrimitiveType.Decimal => new() { ["type"] = "number", ["format"] = "decimal" },
        PrimitiveType.Double => new() { ["type"] = "number", ["format"] = "double" },
        PrimitiveType.Bool => new() { ["type"] = "boolean" },
        PrimitiveType.Guid => new() { ["type"] = "string", ["format"] = "uuid" },
        PrimitiveType.Timestamp => new() { ["type"] = "string", ["format"] = "date-time" },
        PrimitiveType.Date => new() { ["type"] = "string", ["format"] = "date" },
        _ => new() { ["type"] = "string" },
    };
}
