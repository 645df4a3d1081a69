using NJsonSchema;

namespace Platform.Definitions.Schema;

/// <summary>
/// The JSON Schema of every definition file kind, built with NJsonSchema's object model. Editors
/// use it for completion and early errors; the loader's checks remain the authority.
/// </summary>
public static partial class PlatformSchema
{
    public const string RelativePath = "definitions/schema/platform.schema.json";

    public static string ToJson() => Build().ToJson().ReplaceLineEndings("\n") + "\n";

    public static JsonSchema Build()
    {
        var root = new JsonSchema
        {
            SchemaVersion = "http://json-schema.org/draft-07/schema#",
            Title = "Platform definition file",
            Description = "One aggregate, contracts, projection, saga or reactions definition per file.",
        };
        var library = new Library(root);

        root.OneOf.Add(Ref(library.AggregateFile()));
        root.OneOf.Add(Ref(library.ContractsFile()));
        root.OneOf.Add(Ref(library.ProjectionFile()));
        root.OneOf.Add(Ref(library.SagaFile()));
        root.OneOf.Add(Ref(library.ReactionsFile()));
        return root;
    }

    private static JsonSchema Ref(JsonSchema target) => new() { Reference = target };

    private static JsonSchemaProperty RefProperty(JsonSchema target, string? description = null) =>
        new() { Reference = target, Description = description };

    private static JsonSchemaProperty StringProperty(string description, string? pattern = null) =>
        new() { Type = JsonObjectType.String, Description = description, Pattern = pattern };

    private static JsonSchema StringEnum(string description, params string[] values)
    {
        var schema = new JsonSchema { Type = JsonObjectType.String, Description = description };
        foreach (var value in values) schema.Enumeration.Add(value);
        return schema;
    }

    private static JsonSchema ClosedObject(string description, params string[] required)
    {
        var schema = new JsonSchema { Type = JsonObjectType.Object, Description = description, AllowAdditionalProperties = false };
        foreach (var name in required) schema.RequiredProperties.Add(name);
        return schema;
    }

    /// <summary>An object whose keys are names and whose values all follow one schema.</summary>
    private static JsonSchema MapOf(JsonSchema values, string description, string keyPattern = NamePattern)
    {
        var schema = new JsonSchema { Type = JsonObjectType.Object, Description = description, AllowAdditionalProperties = false };
        schema.PatternProperties[keyPattern] = new JsonSchemaProperty { Reference = values };
        return schema;
    }

    private const string NamePattern = "^[A-Za-z_][A-Za-z0-9_]*$";
}
