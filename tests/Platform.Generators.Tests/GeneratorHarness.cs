using System.Collections.Immutable;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;
using Platform.Generators;

namespace Platform.Generators.Tests;

/// <summary>Runs <see cref="PlatformGenerator"/> the way the compiler does, on real reference assemblies.</summary>
public static class GeneratorHarness
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static string OrdersDefinitions => Path.Combine(RepositoryRoot, "examples", "Orders", "definitions");

    static string FindRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Platform.sln")))
            directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException("Platform.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>The YAML files of a folder as additional texts, with repository-relative paths so output does not depend on the checkout.</summary>
    public static ImmutableArray<AdditionalText> Load(string directory) =>
        Directory.GetFiles(directory, "*.yaml", SearchOption.AllDirectories)
            .OrderBy(path => path, StringComparer.Ordinal)
            .Select(path => (AdditionalText)new InMemoryText(Path.GetRelativePath(RepositoryRoot, path).Replace('\\', '/'), File.ReadAllText(path)))
            .ToImmutableArray();

    public static CSharpGeneratorDriver CreateDriver(ImmutableArray<AdditionalText> texts) =>
        (CSharpGeneratorDriver)CSharpGeneratorDriver.Create(
            new[] { new PlatformGenerator().AsSourceGenerator() },
            additionalTexts: texts,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));

    public static CSharpCompilation CreateCompilation(string assemblyName = "Shop.Orders", params string[] sources) =>
        CSharpCompilation.Create(
            assemblyName,
            sources.Select(source => CSharpSyntaxTree.ParseText(source, new CSharpParseOptions(LanguageVersion.Latest))),
            References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));

    /// <summary>Runs the generator; returns the driver (for incrementality checks) and the compilation with its output.</summary>
    public static (GeneratorDriver Driver, Compilation Output, ImmutableArray<Diagnostic> Diagnostics) Run(ImmutableArray<AdditionalText> texts, CSharpCompilation? compilation = null)
    {
        compilation ??= CreateCompilation();
        GeneratorDriver driver = CreateDriver(texts);
        driver = driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var diagnostics);
        return (driver, output, diagnostics);
    }

    /// <summary>The Orders definitions with one file (by name, e.g. <c>order.yaml</c>) edited; the edit must change it.</summary>
    public static ImmutableArray<AdditionalText> OrdersWith(string fileName, Func<string, string> edit) =>
        Load(OrdersDefinitions)
            .Select(text =>
            {
                if (!text.Path.EndsWith("/" + fileName, StringComparison.Ordinal))
                    return text;
                var original = text.GetText()!.ToString();
                var edited = edit(original);
                Xunit.Assert.NotEqual(original, edited);
                return new InMemoryText(text.Path, edited);
            })
            .ToImmutableArray();

    /// <summary>Runs the generator and compiles its output; fails on a generator error or a compile error.</summary>
    public static (GeneratorDriver Driver, Compilation Output) Compiles(ImmutableArray<AdditionalText> texts, CSharpCompilation? compilation = null)
    {
        var (driver, output, diagnostics) = Run(texts, compilation);
        Xunit.Assert.True(diagnostics.All(d => d.Severity < DiagnosticSeverity.Error), string.Join("\n", diagnostics));
        var errors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        Xunit.Assert.True(errors.Count == 0, "the generated code does not compile:\n" + string.Join("\n", errors.Take(20)));
        return (driver, output);
    }

    /// <summary>The text of one generated source, by hint name (e.g. <c>Shop.Orders.OrderSummary.g.cs</c>).</summary>
    public static string Source(GeneratorDriver driver, string hintName) =>
        driver.GetRunResult().Results.Single().GeneratedSources.Single(s => s.HintName == hintName).SourceText.ToString();

    /// <summary>
    /// The .NET reference pack of the running SDK (real reference assemblies, as a build uses), plus the
    /// platform, MassTransit, EF Core and DI assemblies a service references.
    /// </summary>
    static readonly Lazy<ImmutableArray<MetadataReference>> References = new(() =>
    {
        var paths = new List<string>();
        var runtimeDirectory = Path.GetDirectoryName(typeof(object).Assembly.Location)!;
        var dotnetRoot = Path.GetFullPath(Path.Combine(runtimeDirectory, "..", "..", ".."));
        var packs = Path.Combine(dotnetRoot, "packs", "Microsoft.NETCore.App.Ref");
        var referencePack = Directory.Exists(packs)
            ? Directory.GetDirectories(packs)
                .Where(directory => Path.GetFileName(directory).StartsWith(Environment.Version.Major + ".", StringComparison.Ordinal))
                .OrderByDescending(directory => Version.TryParse(Path.GetFileName(directory).Split('-')[0], out var v) ? v : new Version())
                .Select(directory => Path.Combine(directory, "ref", "net" + Environment.Version.Major + ".0"))
                .FirstOrDefault(Directory.Exists)
            : null;
        if (referencePack is null)
            throw new InvalidOperationException($"No Microsoft.NETCore.App.Ref pack for .NET {Environment.Version.Major} under {packs}");
        paths.AddRange(Directory.GetFiles(referencePack, "*.dll"));
        foreach (var type in new[]
                 {
                     typeof(Platform.Events.EventEnvelope),
                     typeof(MassTransit.IConsumer<>),
                     typeof(MassTransit.EndpointConventionExtensions),
                     typeof(MassTransit.MassTransitStateMachine<>),
                     typeof(Microsoft.EntityFrameworkCore.DbContext),
                     typeof(Microsoft.EntityFrameworkCore.RelationalEntityTypeBuilderExtensions),
                     typeof(Microsoft.Extensions.DependencyInjection.IServiceCollection),
                     typeof(Microsoft.Extensions.DependencyInjection.ServiceCollectionServiceExtensions),
                 })
            paths.Add(type.Assembly.Location);
        return paths.Distinct().Select(path => (MetadataReference)MetadataReference.CreateFromFile(path)).ToImmutableArray();
    });

    /// <summary>Emits the compilation and loads it, for tests that run generated code.</summary>
    public static Assembly LoadAssembly(Compilation compilation)
    {
        using var stream = new MemoryStream();
        var result = compilation.Emit(stream);
        if (!result.Success)
            throw new InvalidOperationException("generated code does not compile:\n" + string.Join("\n", result.Diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error)));
        return Assembly.Load(stream.ToArray());
    }

    public sealed class InMemoryText(string path, string text) : AdditionalText
    {
        readonly SourceText content = SourceText.From(text, System.Text.Encoding.UTF8);

        public override string Path { get; } = path;

        public override SourceText GetText(CancellationToken cancellationToken = default) => content;
    }
}
