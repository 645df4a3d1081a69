using System.Buffers;
using System.Collections.Immutable;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;
using Platform.Benchmarks.Definitions;
using Platform.Generators;
using Shop.Orders;

// Contenders run side by side in this one process; ratios matter more than absolute times on a
// noisy 2-core machine.
var root = FindRoot();
var corpus = Corpus.Build(Path.Combine(root, "examples", "Orders", "definitions"));
Console.WriteLine($"corpus: {corpus.Count} files, {corpus.Sum(f => Corpus.Lines(f.Text)):N0} lines");

var texts = corpus.Select(f => (AdditionalText)new Text(f.Path, f.Text)).ToImmutableArray();
var compilation = CSharpCompilation.Create("Bench.Domain", references: new[] { MetadataReference.CreateFromFile(typeof(object).Assembly.Location) });

var cold = new List<double>();
GeneratorDriver driver = null!;
for (var i = 0; i < 3; i++)
{
    var watch = Stopwatch.StartNew();
    driver = CSharpGeneratorDriver.Create(new[] { new PlatformGenerator().AsSourceGenerator() }, additionalTexts: texts).RunGenerators(compilation);
    cold.Add(watch.Elapsed.TotalMilliseconds);
}
var result = driver.GetRunResult();
Console.WriteLine($"generator cold run: best {cold.Min():N0} ms, median {Median(cold):N0} ms; {result.Results[0].GeneratedSources.Length} sources, {result.Diagnostics.Length} diagnostics");
foreach (var diagnostic in result.Diagnostics.Take(3)) Console.WriteLine("  " + diagnostic);
if (result.Results[0].GeneratedSources.Length == 0) throw new InvalidOperationException("the corpus generated nothing: the benchmark would measure an empty run");

var noEdit = new List<double>();
for (var i = 0; i < 5; i++)
{
    var watch = Stopwatch.StartNew();
    driver = driver.RunGenerators(compilation);
    noEdit.Add(watch.Elapsed.TotalMilliseconds);
}
Console.WriteLine($"generator re-run with nothing changed (the driver's floor): best {noEdit.Min():N1} ms");

var edits = new List<double>();
var inGenerator = new List<double>();
// An editor session edits many times: the first edits run the checks in unoptimized (tier-0)
// code, so warm up with 40 edits and report the next 15, which is what a developer feels.
const int warmupEdits = 40;
for (var i = 0; i < warmupEdits + 15; i++)
{
    var target = texts[(i * 37) % texts.Length];
    var edited = new Text(target.Path, target.GetText()!.ToString() + $"\n# edit {i}\n");
    driver = driver.ReplaceAdditionalText(target, edited);
    texts = texts.Replace(target, edited);
    var watch = Stopwatch.StartNew();
    driver = driver.RunGenerators(compilation);
    if (i < warmupEdits) continue;
    edits.Add(watch.Elapsed.TotalMilliseconds);
    inGenerator.Add(driver.GetTimingInfo().GeneratorTimes[0].ElapsedTime.TotalMilliseconds);
}
{
    var models = corpus.Select(f => Platform.Definitions.Loading.DefinitionLoader.Load(f.Path, f.Text).Value!).ToList();
    var phases = new List<(string, double)>();
    for (var i = 0; i < 5; i++)
    {
        var w1 = Stopwatch.StartNew();
        Platform.Definitions.Checks.DefinitionSet.Check(models);
        var check = w1.Elapsed.TotalMilliseconds;
        w1.Restart();
        var index = Platform.Generators.Model.TypeIndexBuilder.Build(models);
        var build = w1.Elapsed.TotalMilliseconds;
        w1.Restart();
        var again = Platform.Generators.Model.TypeIndexBuilder.Build(models);
        w1.Restart();
        var equal = index.Equals(again);
        var compare = w1.Elapsed.TotalMilliseconds;
        phases.Add(($"check {check:N1} ms, index build {build:N1} ms, index compare {compare:N2} ms ({equal})", check));
    }
    Console.WriteLine("one-file edit phases (last of 5): " + phases[^1].Item1);
}
Console.WriteLine($"generator re-run after a one-file edit (after {warmupEdits} warm-up edits): best {edits.Min():N1} ms, median {Median(edits):N1} ms (inside the generator's steps: median {Median(inGenerator):N1} ms)");

// OrderPlaced with the generated code and with reflection-based System.Text.Json.
var placed = new OrderPlaced("customer-42",
    new[] { new OrderItem("p-1", 2, 19.99m), new OrderItem("p-2", 1, 5.5m), new OrderItem("p-3", 4, 1.25m) },
    50.48m, "Seoul, Gangnam-gu 123", "KRW", "STANDARD");
var descriptor = OrderPlacedEventType.Instance;
var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
var buffer = new ArrayBufferWriter<byte>(1024);
descriptor.Write(placed, buffer);
var generatedJson = buffer.WrittenSpan.ToArray();
var reflectionJson = JsonSerializer.SerializeToUtf8Bytes(placed, options);
Console.WriteLine($"payload: generated {generatedJson.Length} bytes, reflection {reflectionJson.Length} bytes");

const int iterations = 100_000;
var reflectionBuffer = new ArrayBufferWriter<byte>(1024);
var reflectionWriter = new Utf8JsonWriter(reflectionBuffer);
var contenders = new (string Name, Action Run)[]
{
    ("serialize generated", () => { buffer.ResetWrittenCount(); descriptor.Write(placed, buffer); }),
    ("serialize reflection", () => { reflectionBuffer.ResetWrittenCount(); reflectionWriter.Reset(reflectionBuffer); JsonSerializer.Serialize(reflectionWriter, placed, options); }),
    ("deserialize generated", () => descriptor.Read(generatedJson, OrderPlaced.SchemaVersion)),
    ("deserialize reflection", () => JsonSerializer.Deserialize<OrderPlaced>(reflectionJson, options)),
};
// Interleaved rounds, best round per contender: load from other processes falls on all alike.
var best = contenders.Select(_ => double.MaxValue).ToArray();
foreach (var (_, run) in contenders) for (var i = 0; i < 20_000; i++) run();
for (var round = 0; round < 9; round++)
{
    for (var c = 0; c < contenders.Length; c++)
    {
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < iterations; i++) contenders[c].Run();
        best[c] = Math.Min(best[c], watch.Elapsed.TotalNanoseconds / iterations);
    }
}
Console.WriteLine($"serialize OrderPlaced:   generated {best[0]:N0} ns, reflection STJ {best[1]:N0} ns, ratio {best[1] / best[0]:N2}x");
Console.WriteLine($"deserialize OrderPlaced: generated {best[2]:N0} ns, reflection STJ {best[3]:N0} ns, ratio {best[3] / best[2]:N2}x");

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted[sorted.Count / 2];
}

static string FindRoot()
{
    var directory = new DirectoryInfo(AppContext.BaseDirectory);
    while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Platform.sln"))) directory = directory.Parent;
    return directory?.FullName ?? throw new InvalidOperationException("Platform.sln not found");
}

sealed class Text(string path, string text) : AdditionalText
{
    readonly SourceText content = SourceText.From(text);
    public override string Path { get; } = path;
    public override SourceText GetText(CancellationToken cancellationToken = default) => content;
}
