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
    // Small mappings are searched linearly; large ones get an index so duplicate-key detection
    // on a file with thousands of keys stays linear rather than quadratic.
    private const int IndexThreshold = 8;
    private readonly List<KeyValuePair<YamlScalar, YamlNode>> _entries = new();
    private Dictionary<string, int>? _index;

    public YamlMapping(SourceSpan span) : base(span)
    {
    }

    public IReadOnlyList<KeyValuePair<YamlScalar, YamlNode>> Entries => _entries;

    public override YamlNodeKind Kind => YamlNodeKind.Mapping;

    public void Add(YamlScalar key, YamlNode value)
    {
        _entries.Add(new KeyValuePair<YamlScalar, YamlNode>(key, value));
        if (_index is not null)
        {
            if (!_index.ContainsKey(key.Value)) _index[key.Value] = _entries.Count - 1;
        }
        else if (_entries.Count > IndexThreshold)
        {
            _index = new Dictionary<string, int>(System.StringComparer.Ordinal);
            for (var i = 0; i < _entries.Count; i++)
            {
                if (!_index.ContainsKey(_entries[i].Key.Value)) _index[_entries[i].Key.Value] = i;
            }
        }
    }

    public YamlNode? Find(string key) => IndexOf(key) is var i && i >= 0 ? _entries[i].Value : null;

    public YamlScalar? FindKey(string key) => IndexOf(key) is var i && i >= 0 ? _entries[i].Key : null;

    private int IndexOf(string key)
    {
        if (_index is not null) return _index.TryGetValue(key, out var found) ? found : -1;
        for (var i = 0; i < _entries.Count; i++)
        {
            if (_entries[i].Key.Value == key) return i;
        }
        return -1;
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
