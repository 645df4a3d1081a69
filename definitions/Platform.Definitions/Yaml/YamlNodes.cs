using System.Collections.Generic;

namespace Platform.Definitions.Yaml;

internal enum YamlNodeKind
{
    Scalar,
    Mapping,
    Sequence,
}

/// <summary>
/// A minimal YAML tree built from the parser's event stream. YamlDotNet's own representation
/// model builds nodes recursively (a stack overflow on deep input) and resolves aliases; this one
/// is built with an explicit stack and never holds an alias.
/// </summary>
internal abstract class YamlNode
{
    protected YamlNode(SourceSpan span) => Span = span;

    public SourceSpan Span { get; }

    public abstract YamlNodeKind Kind { get; }

    public string Describe() => Kind switch
    {
        YamlNodeKind.Mapping => "a mapping",
        YamlNodeKind.Sequence => "a list",
        _ => "a scalar",
    };
}

internal sealed class YamlScalar : YamlNode
{
    public YamlScalar(string value, bool isPlain, SourceSpan span) : base(span)
    {
        Value = value;
        IsPlain = isPlain;
    }

    public string Value { get; }

    /// <summary>Unquoted: only plain scalars are read as expressions, numbers, booleans or null.</summary>
    public bool IsPlain { get; }

    public bool IsNull => IsPlain && (Value.Length == 0 || Value == "~" || Value == "null" || Value == "Null" || Value == "NULL");

    public override YamlNodeKind Kind => YamlNodeKind.Scalar;
}

internal sealed class YamlMapping : YamlNode
{
    public YamlMapping(SourceSpan span) : base(span)
    {
    }

    public List<KeyValuePair<YamlScalar, YamlNode>> Entries { get; } = new();

    public override YamlNodeKind Kind => YamlNodeKind.Mapping;

    public YamlNode? Find(string key)
    {
        foreach (var entry in Entries)
        {
            if (entry.Key.Value == key) return entry.Value;
        }
        return null;
    }

    public YamlScalar? FindKey(string key)
    {
        foreach (var entry in Entries)
        {
            if (entry.Key.Value == key) return entry.Key;
        }
        return null;
    }
}

internal sealed class YamlSequence : YamlNode
{
    public YamlSequence(SourceSpan span) : base(span)
    {
    }

    public List<YamlNode> Items { get; } = new();

    public override YamlNodeKind Kind => YamlNodeKind.Sequence;
}
