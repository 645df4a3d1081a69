using System.Diagnostics;
using System.Text;
using Platform.Definitions.Checks;
using Platform.Definitions.Diagnostics;
using Platform.Definitions.Loading;
using Xunit;

namespace Platform.Definitions.Tests;

/// <summary>Input that could crash or hang a loader becomes a positioned diagnostic, quickly.</summary>
public sealed class HostileInputTests
{
    [Fact]
    public void an_empty_file_is_reported_at_its_start()
    {
        var diagnostic = Assert.Single(DefinitionLoader.Load("empty.yaml", Array.Empty<byte>()).Diagnostics);
        Assert.Equal(("PLT0107", 1, 1), (diagnostic.Code, diagnostic.Span.StartLine, diagnostic.Span.StartColumn));
    }

    [Fact]
    public void a_ten_megabyte_file_is_rejected_without_parsing()
    {
        var text = "contracts: Big\nnamespace: Shop.Big\ntypes:\n" + string.Concat(Enumerable.Repeat("  T: { a: int }\n", 10 * 1024 * 1024 / 16));
        var watch = Stopwatch.StartNew();
        var fromText = DefinitionLoader.Load("big.yaml", text);
        var fromBytes = DefinitionLoader.Load("big.yaml", Encoding.UTF8.GetBytes(text));
        watch.Stop();
        Assert.Equal("PLT0105", Assert.Single(fromText.Diagnostics).Code);
        Assert.Equal("PLT0105", Assert.Single(fromBytes.Diagnostics).Code);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
    }

    [Fact]
    public void a_file_just_under_the_size_limit_loads_in_bounded_time()
    {
        var builder = new StringBuilder("contracts: Large\nnamespace: Shop.Large\ntypes:\n");
        var index = 0;
        while (builder.Length < 1_900_000) builder.Append("  T").Append(index++).Append(": { a: int, b: list<string>, c: decimal? }\n");
        var watch = Stopwatch.StartNew();
        var result = DefinitionLoader.Load("large.yaml", builder.ToString());
        var checkedSet = DefinitionSet.Check(new[] { result.Value! });
        watch.Stop();
        Assert.Empty(result.Diagnostics);
        Assert.Empty(checkedSet.Diagnostics);
        Assert.Equal(index, result.Value!.Types.Count);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
    }

    [Theory]
    [InlineData("flow sequences", "[", "]")]
    [InlineData("flow mappings", "{a: ", "}")]
    public void ten_thousand_levels_of_flow_nesting_stop_at_the_depth_limit(string kind, string open, string close)
    {
        var text = "contracts: Deep\nnamespace: Shop.Deep\ntypes: " + string.Concat(Enumerable.Repeat(open, 10_000)) + "1" + string.Concat(Enumerable.Repeat(close, 10_000));
        var diagnostic = Assert.Single(DefinitionLoader.Load("deep.yaml", text).Diagnostics);
        Assert.True(diagnostic.Code == "PLT0104", kind + ": " + diagnostic.ToCanonicalString());
        Assert.Equal(3, diagnostic.Span.StartLine);
    }

    [Fact]
    public void ten_thousand_levels_of_block_nesting_stop_at_the_depth_limit()
    {
        var text = "contracts: Deep\nnamespace: Shop.Deep\ntypes:\n  " + string.Concat(Enumerable.Repeat("- ", 10_000)) + "x\n";
        var diagnostic = Assert.Single(DefinitionLoader.Load("deep.yaml", text).Diagnostics);
        Assert.Equal(("PLT0104", 4), (diagnostic.Code, diagnostic.Span.StartLine));
    }

    [Fact]
    public void deeply_nested_type_text_is_a_type_error_not_a_stack_overflow()
    {
        var type = string.Concat(Enumerable.Repeat("list<", 5_000)) + "int" + string.Concat(Enumerable.Repeat(">", 5_000));
        var text = "contracts: Types\nnamespace: Shop.Types\ntypes:\n  T:\n    a: " + type + "\n";
        var diagnostic = Assert.Single(DefinitionLoader.Load("types.yaml", text).Diagnostics);
        Assert.Equal(("PLT0302", 5, 8), (diagnostic.Code, diagnostic.Span.StartLine, diagnostic.Span.StartColumn));
    }

    [Fact]
    public void text_decoded_leniently_with_replacement_characters_is_reported_as_invalid_utf8()
    {
        var diagnostic = Assert.Single(DefinitionLoader.Load("bad.yaml", "contracts: A\nnamespace: B\u00e9\uFFFD\n").Diagnostics);
        Assert.Equal(("PLT0106", 2, 14), (diagnostic.Code, diagnostic.Span.StartLine, diagnostic.Span.StartColumn));
    }

    [Fact]
    public void a_byte_order_mark_is_accepted()
    {
        var bytes = new byte[] { 0xEF, 0xBB, 0xBF }.Concat(Encoding.UTF8.GetBytes("contracts: A\nnamespace: B\n")).ToArray();
        Assert.Empty(DefinitionLoader.Load("bom.yaml", bytes).Diagnostics);
    }

    /// <summary>Deterministic mutations of the example files: the loader and checks must never throw.</summary>
    [Fact]
    public void mutated_example_files_never_throw()
    {
        var random = new Random(20261126);
        var sources = Directory.GetFiles(Paths.OrdersDefinitions, "*.yaml").Select(File.ReadAllText).ToArray();
        var alphabet = "{}[]:,-?&*!|>'\"%@`#\t\n \\$<>.0aZ\u00e9";
        var mutations = 0;
        for (var i = 0; i < 1500; i++)
        {
            var chars = sources[i % sources.Length].ToCharArray().ToList();
            for (var edit = 0; edit < 1 + random.Next(5); edit++)
            {
                var position = random.Next(chars.Count);
                switch (random.Next(3))
                {
                    case 0: chars.RemoveAt(position); break;
                    case 1: chars.Insert(position, alphabet[random.Next(alphabet.Length)]); break;
                    default: chars[position] = alphabet[random.Next(alphabet.Length)]; break;
                }
            }
            var loaded = DefinitionLoader.Load($"mutant{i}.yaml", new string(chars.ToArray()));
            Assert.DoesNotContain(loaded.Diagnostics, d => d.Message.Contains("internal error", StringComparison.Ordinal));
            if (loaded.Value is null) continue;
            var files = Corpus.Orders.Where(f => !f.Path.EndsWith(Path.GetFileName(sources[i % sources.Length]) ?? "", StringComparison.Ordinal)).ToList();
            files.Add(loaded.Value);
            var checkedSet = DefinitionSet.Check(files);
            Assert.All(checkedSet.Diagnostics, d => Assert.True(d.Span.StartLine >= 1 && d.Span.StartColumn >= 1, d.ToCanonicalString()));
            mutations++;
        }
        Assert.True(mutations > 100, $"only {mutations} mutants loaded; the test no longer exercises the checks");
    }

    [Fact]
    public void every_diagnostic_code_is_unique_and_well_formed()
    {
        var descriptors = typeof(DiagnosticCodes).GetFields().Select(f => (DiagnosticDescriptor)f.GetValue(null)!).ToList();
        Assert.True(descriptors.Count >= 60);
        Assert.Equal(descriptors.Count, descriptors.Select(d => d.Code).Distinct().Count());
        Assert.All(descriptors, d => Assert.Matches("^PLT0[1-8][0-9]{2}$", d.Code));
    }
}
