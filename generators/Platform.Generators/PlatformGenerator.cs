using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;
using Platform.Definitions;
using System.Linq;
using Platform.Definitions.Checks;
using Platform.Definitions.Compatibility;
using DiagnosticInfo = Platform.Definitions.Diagnostics.DiagnosticInfo;
using DiagnosticSeverity = Platform.Definitions.Diagnostics.DiagnosticSeverity;
using Platform.Definitions.Loading;
using Platform.Definitions.Model;
using Platform.Generators.Emit;
using Platform.Generators.Model;

namespace Platform.Generators;

/// <summary>
/// Turns the YAML definitions listed as <c>AdditionalFiles</c> into typed C#. This class only
/// wires the pipeline; parsing lives in Platform.Definitions and emitting in <see cref="FileEmitter"/>.
/// Every step's output is an equatable record of strings and arrays, so an edit to one file
/// re-emits that file alone.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class PlatformGenerator : IIncrementalGenerator
{
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var parsed = context.AdditionalTextsProvider
            .Where(static text => IsDefinition(text.Path))
            .Select(static (text, cancellationToken) => Parse(text, cancellationToken))
            .WithTrackingName(TrackingNames.ParseDefinition);

        // The compatibility lock, when the project lists it: published event versions are checked
        // at build time, not only by `platform validate`.
        var locks = context.AdditionalTextsProvider
            .Where(static text => string.Equals(System.IO.Path.GetFileName(text.Path), LockFileFormat.FileName, StringComparison.OrdinalIgnoreCase))
            .Select(static (text, cancellationToken) => new LockText(text.Path, text.GetText(cancellationToken)?.ToString() ?? string.Empty))
            .Collect();

        var checkedSet = parsed.Collect()
            .Combine(locks)
            .Select(static (pair, cancellationToken) => Check(pair.Left, pair.Right, cancellationToken))
            .WithTrackingName(TrackingNames.CheckDefinitions);

        var index = checkedSet
            .Select(static (set, _) => (set.HasErrors, set.Index))
            .WithTrackingName(TrackingNames.BuildTypeIndex);

        var emitted = parsed.Combine(index)
            .Select(static (pair, cancellationToken) => Emit(pair.Left, pair.Right.HasErrors, pair.Right.Index, cancellationToken))
            .WithTrackingName(TrackingNames.EmitDefinition);

        // Registration extensions are emitted only for the libraries the service references.
        var integrations = context.CompilationProvider
            .Select(static (compilation, _) => (
                ServiceCollection: compilation.GetTypeByMetadataName("Microsoft.Extensions.DependencyInjection.IServiceCollection") is not null,
                MassTransit: compilation.GetTypeByMetadataName("MassTransit.IBusRegistrationConfigurator") is not null));
        var registration = parsed.Collect()
            .Combine(context.CompilationProvider.Select(static (compilation, _) => compilation.AssemblyName ?? "Definitions"))
            .Select(static (pair, _) => Registration(pair.Left, pair.Right))
            .WithTrackingName(TrackingNames.BuildRegistration);

        context.RegisterSourceOutput(parsed, static (output, file) =>
        {
            foreach (var diagnostic in file.Diagnostics) output.ReportDiagnostic(DiagnosticReporter.ToDiagnostic(diagnostic));
        });
        context.RegisterSourceOutput(checkedSet, static (output, set) =>
        {
            foreach (var diagnostic in set.Diagnostics) output.ReportDiagnostic(DiagnosticReporter.ToDiagnostic(diagnostic));
        });
        context.RegisterSourceOutput(emitted, static (output, file) =>
        {
            foreach (var failure in file.Failures) output.ReportDiagnostic(DiagnosticReporter.ToDiagnostic(failure));
            foreach (var source in file.Sources)
            {
                try
                {
                    output.AddSource(source.HintName, SourceText.From(source.Text, System.Text.Encoding.UTF8));
                }
                catch (ArgumentException exception)
                {
                    // Two files claiming one hint name must cost one diagnostic, not the whole output.
                    output.ReportDiagnostic(DiagnosticReporter.ToDiagnostic(Internal(source.HintName, exception)));
                }
            }
        });
        context.RegisterSourceOutput(registration.Combine(checkedSet.Select(static (set, _) => set.HasErrors)).Combine(integrations),
            static (output, input) =>
            {
                var ((model, hasErrors), (withServices, withMassTransit)) = input;
                if (model is null || hasErrors) return;
                var source = RegistrationEmitter.Emit(model.Value.Model, withServices, withMassTransit, model.Value.Hash);
                output.AddSource(source.HintName, SourceText.From(source.Text, System.Text.Encoding.UTF8));
            });
    }

    /// <summary>Definitions are the <c>.yaml</c>/<c>.yml</c> files a project lists as AdditionalFiles.</summary>
    static bool IsDefinition(string path) =>
        path.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".yml", StringComparison.OrdinalIgnoreCase);

    static ParsedDefinition Parse(AdditionalText text, CancellationToken cancellationToken)
    {
        try
        {
            var content = text.GetText(cancellationToken)?.ToString() ?? string.Empty;
            var result = DefinitionLoader.Load(text.Path, content);
            return new ParsedDefinition(text.Path, SourceFile.Hash(content), result.Value, result.Diagnostics);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            return new ParsedDefinition(text.Path, string.Empty, null, EquatableArray.Of(Internal(text.Path, exception)));
        }
    }

    static CheckedSet Check(ImmutableArray<ParsedDefinition> parsed, ImmutableArray<LockText> locks, CancellationToken cancellationToken)
    {
        var files = new List<DefinitionFile>();
        var hasErrors = false;
        var hashes = new System.Text.StringBuilder();
        foreach (var file in Sorted(parsed))
        {
            hashes.Append(file.InputHash);
            if (file.File is null) hasErrors = true;
            else files.Add(file.File);
            foreach (var diagnostic in file.Diagnostics)
                hasErrors |= diagnostic.Severity == DiagnosticSeverity.Error;
        }
        try
        {
            var result = DefinitionSet.Check(files, cancellationToken);
            var diagnostics = new List<DiagnosticInfo>(result.Diagnostics);
            var failed = hasErrors || result.HasErrors;
            if (!failed && result.Value is not null && locks.Length > 0)
            {
                var lockFile = locks.OrderBy(l => l.Path, StringComparer.Ordinal).First();
                foreach (var diagnostic in CompatibilityLock.Check(result.Value, lockFile.Path, lockFile.Text))
                {
                    diagnostics.Add(diagnostic);
                    failed |= diagnostic.Severity == DiagnosticSeverity.Error;
                }
            }
            return new CheckedSet(failed, new EquatableArray<DiagnosticInfo>(diagnostics.ToArray()), TypeIndexBuilder.Build(files), SourceFile.Hash(hashes.ToString()));
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            var path = files.Count > 0 ? files[0].Path : "definitions";
            return new CheckedSet(true, EquatableArray.Of(Internal(path, exception)),
                new TypeIndex(EquatableArray<NamedTypeShape>.Empty, EquatableArray<MessageShape>.Empty, EquatableArray<AggregateShape>.Empty), string.Empty);
        }
    }

    static EmittedDefinition Emit(ParsedDefinition parsed, bool setHasErrors, TypeIndex index, CancellationToken cancellationToken)
    {
        // Code from a set with errors would only add C# errors on top of the real ones.
        if (setHasErrors || parsed.File is null)
            return new EmittedDefinition(EquatableArray<GeneratedSource>.Empty, EquatableArray<DiagnosticInfo>.Empty);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var sources = FileEmitter.Emit(parsed.File, parsed.InputHash, index);
            return new EmittedDefinition(new EquatableArray<GeneratedSource>(Unique(sources)), EquatableArray<DiagnosticInfo>.Empty);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            return new EmittedDefinition(EquatableArray<GeneratedSource>.Empty, EquatableArray.Of(Internal(parsed.Path, exception)));
        }
    }

    static (RegistrationModel Model, string Hash)? Registration(ImmutableArray<ParsedDefinition> parsed, string assemblyName)
    {
        var files = new List<DefinitionFile>();
        foreach (var file in Sorted(parsed))
            if (file.File is not null) files.Add(file.File);
        if (files.Count == 0) return null;
        // The registration's inputs are the names it lists, not the YAML text: an edit that keeps
        // every name leaves it (and its header) unchanged.
        var model = RegistrationEmitter.Model(assemblyName, files);
        return (model, SourceFile.Hash(model.ToString()));
    }

    static List<ParsedDefinition> Sorted(ImmutableArray<ParsedDefinition> parsed)
    {
        var sorted = new List<ParsedDefinition>(parsed);
        sorted.Sort((left, right) => string.CompareOrdinal(left.Path, right.Path));
        return sorted;
    }

    /// <summary>Roslyn rejects two sources with one hint name; a second one gets a numbered name.</summary>
    static GeneratedSource[] Unique(IReadOnlyList<GeneratedSource> sources)
    {
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var result = new GeneratedSource[sources.Count];
        for (var i = 0; i < sources.Count; i++)
        {
            var source = sources[i];
            var hint = source.HintName;
            for (var n = 2; !seen.Add(hint); n++)
                hint = source.HintName.Substring(0, source.HintName.Length - ".g.cs".Length) + "." + n.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".g.cs";
            result[i] = source with { HintName = hint };
        }
        return result;
    }

    static DiagnosticInfo Internal(string path, Exception exception) =>
        new(DiagnosticReporter.InternalErrorCode, DiagnosticSeverity.Error,
            $"the platform generator failed on this file ({exception.GetType().Name}: {exception.Message}); please report it with the file",
            SourceSpan.None(path));
}
