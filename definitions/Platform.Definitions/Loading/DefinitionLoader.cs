using System;
using System.Collections.Generic;
using System.Text;
using Platform.Definitions.Diagnostics;
using Platform.Definitions.Model;
using Platform.Definitions.Yaml;

namespace Platform.Definitions.Loading;

/// <summary>
/// Parses one YAML definition file into the model. Per-file and free of cross-file knowledge, so
/// a generator can cache it per file; references are resolved by <see cref="Checks.DefinitionSet"/>.
/// Never throws on any input.
/// </summary>
public static partial class DefinitionLoader
{
    private static readonly string[] Kinds = { "aggregate", "contracts", "projection", "saga", "reactions" };

    /// <summary>Loads from raw bytes, reporting invalid UTF-8 at its position.</summary>
    public static Result<DefinitionFile> Load(string path, byte[] bytes)
    {
        if (bytes.Length > YamlTreeReader.MaxCharacters * 4L)
        {
            return Fail(DiagnosticInfo.Create(DiagnosticCodes.FileTooLarge, SourceSpan.None(path), bytes.Length, YamlTreeReader.MaxCharacters));
        }
        var offset = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0;
        try
        {
            var text = new UTF8Encoding(false, true).GetString(bytes, offset, bytes.Length - offset);
            return Load(path, text);
        }
        catch (DecoderFallbackException exception)
        {
            var badIndex = offset + Math.Max(0, exception.Index);
            var prefix = new UTF8Encoding(false, false).GetString(bytes, offset, Math.Max(0, Math.Min(badIndex, bytes.Length) - offset));
            var line = 1;
            var column = 1;
            foreach (var character in prefix)
            {
                if (character == '\n')
                {
                    line++;
                    column = 1;
                }
                else
                {
                    column++;
                }
            }
            return Fail(DiagnosticInfo.Create(DiagnosticCodes.InvalidEncoding, SourceSpan.At(path, line, column, prefix.Length)));
        }
    }

    public static Result<DefinitionFile> Load(string path, string text)
    {
        var context = new LoadContext(path);
        try
        {
            var root = YamlTreeReader.Read(path, text, context.Diagnostics);
            if (root is null)
            {
                if (context.Diagnostics.Count == 0) context.Report(DiagnosticCodes.EmptyFile, SourceSpan.None(path));
                return new Result<DefinitionFile>(null, new EquatableArray<DiagnosticInfo>(context.Diagnostics));
            }
            var file = ReadFile(context, root);
            return new Result<DefinitionFile>(file, new EquatableArray<DiagnosticInfo>(context.Diagnostics));
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // A loader bug must not take the build down with it: report it against the file.
            context.Report(DiagnosticCodes.YamlSyntax, SourceSpan.None(path), "internal error while reading the file (" + exception.GetType().Name + ": " + exception.Message + ")");
            return new Result<DefinitionFile>(null, new EquatableArray<DiagnosticInfo>(context.Diagnostics));
        }
    }

    private static Result<DefinitionFile> Fail(DiagnosticInfo diagnostic) =>
        new(null, EquatableArray.Of(diagnostic));

    private static DefinitionFile? ReadFile(LoadContext context, YamlNode root)
    {
        if (root is YamlScalar scalar && scalar.IsNull)
        {
            context.Report(DiagnosticCodes.EmptyFile, root.Span);
            return null;
        }
        if (root is not YamlMapping mapping)
        {
            context.Report(DiagnosticCodes.UnknownFileKind, root.Span);
            return null;
        }

        YamlScalar? kindKey = null;
        foreach (var entry in mapping.Entries)
        {
            if (Array.IndexOf(Kinds, entry.Key.Value) < 0) continue;
            // A projection names the aggregate it follows with 'aggregate:'; that is no second kind.
            if (kindKey is not null && !(IsProjectionPair(kindKey.Value, entry.Key.Value)))
            {
                context.Report(DiagnosticCodes.AmbiguousFileKind, entry.Key.Span, kindKey.Value, entry.Key.Value);
                return null;
            }
            if (kindKey is null || entry.Key.Value == "projection") kindKey = entry.Key;
        }
        if (kindKey is null)
        {
            context.Report(DiagnosticCodes.UnknownFileKind, mapping.Entries.Count > 0 ? mapping.Entries[0].Key.Span : mapping.Span);
            return null;
        }

        var ns = context.RequiredString(mapping, "namespace", $"the {kindKey.Value} file");
        var file = kindKey.Value switch
        {
            "aggregate" => ReadAggregateFile(context, mapping, ns),
            "contracts" => ReadContractsFile(context, mapping, ns),
            "projection" => ReadProjectionFile(context, mapping, ns),
            "saga" => ReadSagaFile(context, mapping, ns),
            _ => ReadReactionsFile(context, mapping, ns),
        };
        // A bad namespace is reported where it is written, not at the definition's name.
        return file is null ? null : file with { NamespaceSpan = mapping.Find("namespace")?.Span ?? file.Span };
    }

    private static bool IsProjectionPair(string first, string second) =>
        (first == "projection" && second == "aggregate") || (first == "aggregate" && second == "projection");

    private static (YamlScalar? Name, SourceSpan Span) RootName(LoadContext context, YamlMapping mapping, string key)
    {
        var keyNode = mapping.FindKey(key)!;
        var name = context.Scalar(mapping.Find(key), $"'{key}'");
        if (name is not null && name.IsNull)
        {
            context.Report(DiagnosticCodes.MissingKey, keyNode.Span, $"'{key}'", "a name");
            return (null, keyNode.Span);
        }
        return (name, name?.Span ?? keyNode.Span);
    }

    private static DefinitionFile NewFile(
        LoadContext context,
        DefinitionKind kind,
        string name,
        string ns,
        SourceSpan span,
        EquatableArray<ValueTypeDefinition> types = default,
        EquatableArray<EnumTypeDefinition> enums = default) =>
        new(context.Path, kind, name, ns,
            types.IsEmpty ? EquatableArray<ValueTypeDefinition>.Empty : types,
            enums.IsEmpty ? EquatableArray<EnumTypeDefinition>.Empty : enums,
            null, null, null, null, EquatableArray<ReactionDefinition>.Empty, span);
}
