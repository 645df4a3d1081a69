namespace Platform.Projections;

/// <summary>
/// Marks a read-model column the generated code stores as JSON text (a value type, a map, a list
/// of value types). The runtime maps such a column to <c>jsonb</c> on PostgreSQL, where it can be
/// queried and indexed as JSON (<c>column -&gt;&gt; 'member'</c>, a GIN index), and to text on SQLite.
/// </summary>
public static class JsonColumn
{
    /// <summary>The EF Core annotation on the property; its value is <c>true</c>.</summary>
    public const string Annotation = "Platform:JsonColumn";
}
