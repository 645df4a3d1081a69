using Platform.Definitions.Model;
using Platform.Generators.Model;

namespace Platform.Generators.Emit;

/// <summary>
/// <c>add:</c> and <c>remove:</c> on a list, for aggregate state and read-model rows alike: the list
/// is replaced, not changed in place (state is immutable to callers, and EF Core sees a replaced
/// property change), through two helpers the owning class declares.
/// </summary>
internal static class ListUpdates
{
    /// <summary>The statement that applies <paramref name="update"/> to <paramref name="property"/>.</summary>
    /// <remarks>
    /// <c>remove:</c> compares typed (<c>EqualityComparer&lt;T&gt;</c>), with the value read as the
    /// element's type: compared as objects, an int against a long element, or the stream id's text
    /// (<c>$meta.aggregateId</c>) against a guid element, is never equal and nothing was removed.
    /// Against an element member (<c>by:</c>), whose type lives in another file, the stream id is
    /// compared as text, the member written the way the stream id was.
    /// </remarks>
    /// <remarks>
    /// An optional list that is unset takes an added element as a list of one, and stays unset when
    /// asked to remove one (the helpers would throw on null).
    /// </remarks>
    public static string Statement(string property, StateUpdate update, TypeRef listType, ExpressionScope scope, string ns, TypeIndex index)
    {
        if (update.Operation == UpdateOperation.Add)
        {
            var list = listType.IsOptional ? $"{property} ?? global::System.Array.Empty<{CSharpTypes.Of(listType.Element!, ns, index)}>()" : property;
            return $"{property} = Added({list}, {Expressions.Of(update.Value, listType.Element, scope, ns, index)});";
        }
        var removed = update.MatchMember is not { } member
            ? $"Removed({property}, {Expressions.Of(update.Value, listType.Element, scope, ns, index)}, static (x, v) => Same(x, v))"
            : $"Removed({property}, {Expressions.Of(update.Value, null, scope, ns, index)}, static (x, v) => " +
              $"{(update.Value is { Kind: ValueKind.Metadata, Metadata: MetadataField.AggregateId } ? "SameText" : "Same")}(x.{Names.Pascal(member)}, v))";
        return listType.IsOptional ? $"{property} = {property} is null ? null : {removed};" : $"{property} = {removed};";
    }

    /// <summary>Declares <c>Added</c>, <c>Removed</c> and the comparisons in the class being written.</summary>
    public static void EmitHelpers(CodeWriter w)
    {
        using (w.Block("static global::System.Collections.Generic.IReadOnlyList<T> Added<T>(global::System.Collections.Generic.IReadOnlyList<T> list, T item)"))
        {
            w.Line("var copy = new global::System.Collections.Generic.List<T>(list.Count + 1);");
            w.Line("copy.AddRange(list);");
            w.Line("copy.Add(item);");
            w.Line("return copy;");
        }
        w.Line();
        using (w.Block("static global::System.Collections.Generic.IReadOnlyList<T> Removed<T, TValue>(global::System.Collections.Generic.IReadOnlyList<T> list, TValue value, global::System.Func<T, TValue, bool> match)"))
        {
            w.Line("var copy = new global::System.Collections.Generic.List<T>(list.Count);");
            w.Line("foreach (var item in list) if (!match(item, value)) copy.Add(item);");
            w.Line("return copy;");
        }
        w.Line();
        w.Line("static bool Same<T>(T a, T b) => global::System.Collections.Generic.EqualityComparer<T>.Default.Equals(a, b);");
        w.Line();
        w.Line("static bool SameText<T>(T a, string b) => string.Equals(global::System.Convert.ToString(a, global::System.Globalization.CultureInfo.InvariantCulture), b, global::System.StringComparison.Ordinal);");
    }
}
