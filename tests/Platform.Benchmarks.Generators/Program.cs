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
Console.WriteLine($"generator cold run: best {cold.Min():N0} ms, median {Median(cold):N0} ms; {result.Results[0].GeneratedSources.Length} sources, {result.Diagnostics.Count(d => d.Severity == DiagnosticSeverity.Error)} errors");

var edits = new List<double>();
for (var i = 0; i < 7; i++)
{
    var target = texts[(i * 37) % texts.Length];
    var edited = new Text(target.Path, target.GetText()!.ToString() + $"\n# edit {i}\n");
    driver = driver.ReplaceAdditionalText(target, edited);
    texts = texts.Replace(target, edited);
    var watch = Stopwatch.StartNew();
    driver = driver.RunGenerators(compilation);
    edits.Add(watch.Elapsed.TotalMilliseconds);
}
Console.WriteLine($"generator re-run after a one-file edit: best {edits.Min():N1} ms, median {Median(edits):N1} ms");

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

const int iterations = 200_000;
double Time(Action action)
{
    for (var i = 0; i < 20_000; i++) action();
    var best = double.MaxValue;
    for (var round = 0; round < 5; round++)
    {
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < iterations; i++) action();
        best = Math.Min(best, watch.Elapsed.TotalNanoseconds / iterations);
    }
    return best;
}
var reflectionBuffer = new ArrayBufferWriter<byte>(1024);
var reflectionWriter = new Utf8JsonWriter(reflectionBuffer);
var serializeGenerated = Time(() => { buffer.ResetWrittenCount(); descriptor.Write(placed, buffer); });
var serializeReflection = Time(() => { reflectionBuffer.ResetWrittenCount(); reflectionWriter.Reset(reflectionBuffer); JsonSerializer.Serialize(reflectionWriter, placed, options); });
var deserializeGenerated = Time(() => descriptor.Read(generatedJson, OrderPlaced.SchemaVersion));
var deserializeReflection = Time(() => JsonSerializer.Deserialize<OrderPlaced>(reflectionJson, options));
Console.WriteLine($"serialize OrderPlaced:   generated {serializeGenerated:N0} ns, reflection STJ {serializeReflection:N0} ns, ratio {serializeReflection / serializeGenerated:N2}x");
Console.WriteLine($"deserialize OrderPlaced: generated {deserializeGenerated:N0} ns, reflection STJ {deserializeReflection:N0} ns, ratio {deserializeReflection / deserializeGenerated:N2}x");

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
