using System.Diagnostics;
using System.Globalization;
using Platform.Benchmarks.Definitions;
using Platform.Definitions.Checks;
using Platform.Definitions.Diagnostics;
using Platform.Definitions.Loading;
using Platform.Definitions.Model;

// Loads and checks the 500-file corpus: one cold run (JIT included, as a first `platform validate`
// or a cold build sees it), then warm runs (as an IDE or a long-lived build server sees it).
var root = args.Length > 0 ? args[0] : FindRoot();
var corpus = Corpus.Build(Path.Combine(root, "examples", "Orders", "definitions"));
var lines = corpus.Sum(file => Corpus.Lines(file.Text));
var characters = corpus.Sum(file => file.Text.Length);
Console.WriteLine($"corpus: {corpus.Count} files, {lines:N0} lines, {characters / 1024.0 / 1024.0:F1} MB");

var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
var cold = Run(corpus, out var coldLoad);
var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
var warm = new List<TimeSpan>();
var warmLoad = new List<TimeSpan>();
for (var i = 0; i < 20; i++)
{
    warm.Add(Run(corpus, out var load));
    warmLoad.Add(load);
}
warmLoad.Sort();
var parseAllocatedBefore = GC.GetAllocatedBytesForCurrentThread();
ParseOnly(corpus);
var parseAllocated = GC.GetAllocatedBytesForCurrentThread() - parseAllocatedBefore;
var parseOnly = new List<TimeSpan>();
for (var i = 0; i < 5; i++) parseOnly.Add(ParseOnly(corpus));
parseOnly.Sort();
warm.Sort();
var median = warm[warm.Count / 2];

Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cold: {cold.TotalMilliseconds:F0} ms, {corpus.Count / cold.TotalSeconds:F0} files/s, {lines / cold.TotalSeconds:F0} lines/s"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"warm (median of {warm.Count}): {median.TotalMilliseconds:F0} ms, {corpus.Count / median.TotalSeconds:F0} files/s, {lines / median.TotalSeconds:F0} lines/s"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"phases: cold load {coldLoad.TotalMilliseconds:F0} ms + check {(cold - coldLoad).TotalMilliseconds:F0} ms; warm load {warmLoad[warmLoad.Count / 2].TotalMilliseconds:F0} ms, of which YamlDotNet's parser alone {parseOnly[parseOnly.Count / 2].TotalMilliseconds:F0} ms"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"allocated per run: {allocated / 1024.0 / 1024.0:F0} MB, of which YamlDotNet's parser {parseAllocated / 1024.0 / 1024.0:F0} MB"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"warm best: {warm[0].TotalMilliseconds:F0} ms; goal: under 1000 ms for {corpus.Count} files"));
return 0;

static TimeSpan Run(List<(string Path, string Text)> corpus, out TimeSpan load)
{
    var watch = Stopwatch.StartNew();
    var files = new List<DefinitionFile>(corpus.Count);
    var diagnostics = 0;
    foreach (var (path, text) in corpus)
    {
        var loaded = DefinitionLoader.Load(path, text);
        diagnostics += loaded.Diagnostics.Count;
        if (loaded.Value is not null) files.Add(loaded.Value);
    }
    load = watch.Elapsed;
    var checkedSet = DefinitionSet.Check(files);
    watch.Stop();
    diagnostics += checkedSet.Diagnostics.Count;
    // A corpus that stopped being valid would measure the error path, not the real one.
    if (diagnostics != 0 || files.Count != corpus.Count)
    {
        var first = checkedSet.Diagnostics.FirstOrDefault()?.ToCanonicalString() ?? "loader diagnostics";
        throw new InvalidOperationException($"the corpus has {diagnostics} diagnostics, e.g. {first}");
    }
    return watch.Elapsed;
}

static TimeSpan ParseOnly(List<(string Path, string Text)> corpus)
{
    var watch = Stopwatch.StartNew();
    foreach (var (_, text) in corpus)
    {
        var parser = new YamlDotNet.Core.Parser(new StringReader(text));
        while (parser.MoveNext())
        {
        }
    }
    return watch.Elapsed;
}

static string FindRoot()
{
    var directory = new DirectoryInfo(AppContext.BaseDirectory);
    while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Platform.sln"))) directory = directory.Parent;
    return directory?.FullName ?? throw new InvalidOperationException("run from inside the repository or pass its path");
}
