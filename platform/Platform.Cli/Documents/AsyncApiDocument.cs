using System.Text.Json.Nodes;
using Platform.Definitions.Checks;
using Platform.Definitions.Model;
using Platform.Messaging;

namespace Platform.Cli.Documents;

/// <summary>
/// An AsyncAPI 3.0 document of the integration events a service publishes: one channel per event
/// type (its stable type name is the address), the platform's headers, and the payload schema of
/// the current version.
/// </summary>
internal static class AsyncApiDocument
{
    public static JsonObject Build(DefinitionSet set, string title)
    {
        var channels = new JsonObject();
        var operations = new JsonObject();
        var messages = new JsonObject();
        foreach (var e in set.Events.Where(e => e.Kind == EventKind.Integration).OrderBy(e => e.TypeName, StringComparer.Ordinal))
        {
            var channel = ChannelId(e.TypeName);
            messages[e.Name] = new JsonObject
            {
                ["name"] = e.Name,
                ["title"] = $"{e.Name} v{e.Version}",
                ["contentType"] = "application/json",
                ["headers"] = Headers(),
                ["payload"] = EventSchemas.Object(e.Fields, set),
                ["x-event-type"] = e.TypeName,
                ["x-schema-version"] = e.Version,
            };
            channels[channel] = new JsonObject
            {
                ["address"] = e.TypeName,
                ["messages"] = new JsonObject { [e.Name] = new JsonObject { ["$ref"] = $"#/components/messages/{e.Name}" } },
            };
            operations["publish" + e.Name] = new JsonObject
            {
                ["action"] = "send",
                ["channel"] = new JsonObject { ["$ref"] = $"#/channels/{channel}" },
                ["messages"] = new JsonArray(new JsonObject { ["$ref"] = $"#/channels/{channel}/messages/{e.Name}" }),
            };
        }
        return new JsonObject
        {
            ["asyncapi"] = "3.0.0",
            ["info"] = new JsonObject { ["title"] = title, ["version"] = "1.0.0", ["description"] = "Integration events, generated from the YAML definitions." },
            ["defaultContentType"] = "application/json",
            ["channels"] = channels,
            ["operations"] = operations,
            ["components"] = new JsonObject { ["messages"] = messages },
        };
    }

    /// <summary>AsyncAPI channel ids are <c>[A-Za-z0-9_-]</c>; the dotted type name stays the address.</summary>
    static string ChannelId(string typeName) =>
        new(typeName.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_').ToArray());

    static JsonObject Headers()
    {
        var properties = new JsonObject();
        foreach (var name in new[]
                 {
                     PlatformHeaders.EventId, PlatformHeaders.EventType, PlatformHeaders.SchemaVersion, PlatformHeaders.StreamId,
                     PlatformHeaders.StreamType, PlatformHeaders.StreamVersion, PlatformHeaders.GlobalPosition,
                     PlatformHeaders.CorrelationId, PlatformHeaders.CausationId, PlatformHeaders.UserId,
                 })
            properties[name] = new JsonObject { ["type"] = "string" };
        return new JsonObject { ["type"] = "object", ["properties"] = properties };
    }
}
