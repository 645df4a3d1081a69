using System.Collections;
using System.Collections.Generic;
using Platform.Definitions.Model;

namespace Platform.Definitions.Checks;

/// <summary>
/// The fields in scope for a check, with lookup by name. Messages with thousands of fields would
/// make the per-assignment lookups quadratic, so large scopes get an index.
/// </summary>
internal sealed class FieldScope : IReadOnlyList<FieldDefinition>
{
    private const int IndexThreshold = 16;
    private readonly List<FieldDefinition> _fields;
    private Dictionary<string, FieldDefinition>? _index;

    public FieldScope(IEnumerable<FieldDefinition> fields) => _fields = new List<FieldDefinition>(fields);

    public int Count => _fields.Count;

    public FieldDefinition this[int index] => _fields[index];

    public FieldDefinition? Find(string name)
    {
        if (_fields.Count <= IndexThreshold)
        {
            foreach (var field in _fields)
            {
                if (field.Name == name) return field;
            }
            return null;
        }
        if (_index is null)
        {
            _index = new Dictionary<string, FieldDefinition>(System.StringComparer.Ordinal);
            foreach (var field in _fields)
            {
                if (!_index.ContainsKey(field.Name)) _index[field.Name] = field;
            }
        }
        return _index.TryGetValue(name, out var found) ? found : null;
    }

    public IEnumerator<FieldDefinition> GetEnumerator() => _fields.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
