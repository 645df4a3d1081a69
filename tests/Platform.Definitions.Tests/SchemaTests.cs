using Newtonsoft.Json.Linq;
using NJsonSchema;
using Platform.Definitions.Schema;
using Xunit;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Platform.Definitions.Tests;

public sealed class SchemaTests
{
    [Fact]
    public void committed_schema_matches_the_builder()
    {
        var committed = File.ReadAllText(Paths.SchemaFile);
        Assert.True(committed == PlatformSchema.ToJson(),
            $"{PlatformSchema.RelativePath} is stale. Regenerate it with: dotnet run --project platform/Platform.Cli -- schema --out {PlatformSchema.RelativePath}");
    }

    [Fact]
    public async Task every_example_file_validates_against_the_committed_schema()
    {
        var schema = await JsonSchema.FromJsonAsync(await File.ReadAllTextAsync(Paths.SchemaFile));
        var files = Directory.GetFiles(Paths.OrdersDefinitions, "*.yaml");
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            var errors = schema.Validate(ToJson(await File.ReadAllTextAsync(file)).ToString());
            Assert.True(errors.Count == 0, file + ": " + string.Join("; ", errors.Select(e => $"{e.Path}: {e.Kind}")));
        }
    }

    [Fact]
    public async Task every_example_file_names_the_schema_on_its_first_line()
    {
        foreach (var file in Directory.GetFiles(Paths.OrdersDefinitions, "*.yaml"))
        {
            var first = (await File.ReadAllLinesAsync(file))[0];
            Assert.Equal("# yaml-language-server: $schema=../../../definitions/schema/platform.schema.json", first);
            Assert.True(File.Exists(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(file)!, "../../../definitions/schema/platform.schema.json"))));
        }
    }

    [Theory]
    [InlineData("aggregate: A\nnamespace: N\nid: { name: aId, type: guid }\ncomands: {}\n")]
    [InlineData("contracts: C\nnamespace: N\nevents:\n  E: { kind: domian }\n")]
    [InlineData("saga: S\nnamespace: N\ncorrelateBy: x\nstartedBy: E\nsteps:\n  - name: P\n    send: C\n    timeout: soon\n")]
    [InlineData("projection: P\nnamespace: N\nkey: { name: id, type: guid }\non:\n  E: { action: replace }\n")]
    public async Task the_schema_rejects_what_the_language_does_not_allow(string yaml)
    {
        var schema = await JsonSchema.FromJsonAsync(PlatformSchema.ToJson());
        Assert.NotEmpty(schema.Validate(ToJson(yaml).ToString()));
    }

    /// <summary>YAML to JSON as an editor's YAML language server sees it: plain scalars typed, quoted ones strings.</summary>
    private static JToken ToJson(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return Convert(stream.Documents[0].RootNode);
    }

    private static JToken Convert(YamlNode node) => node switch
    {
        YamlMappingNode mapping => new JObject(mapping.Children.Select(pair => new JProperty(((YamlScalarNode)pair.Key).Value!, Convert(pair.Value)))),
        YamlSequenceNode sequence => new JArray(sequence.Children.Select(Convert)),
        YamlScalarNode scalar when scalar.Style != ScalarStyle.Plain => new JValue(scalar.Value),
        YamlScalarNode scalar => scalar.Value switch
        {
            null or "" or "~" or "null" => JValue.CreateNull(),
            "true" => new JValue(true),
            "false" => new JValue(false),
            var text when long.TryParse(text, out var integer) => new JValue(integer),
            var text when double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var number) => new JValue(number),
            var text => new JValue(text),
        },
        _ => throw new InvalidOperationException(node.GetType().Name),
    };
}
