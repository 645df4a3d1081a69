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
    public static string Statement(string property, StateUpdate update, TypeRef listType, ExpressionScope scope, string ns, TypeIndex index)
    {
        if (update.Operation == UpdateOperation.Add)
            return $"{property} = Added({property}, {Expressions.Of(update.Value, listType.Element, scope, ns, index)});";
        var match = update.MatchMember is { } member ? "x." + Names.Pascal(member) : "x";
        return $"{property} = Removed({property}, x => global::System.Collections.Generic.EqualityComparer<object?>.Default.Equals({match}, {Expressions.Of(update.Value, null, scope, ns, index)}));";
    }

    /// <summary>Declares <c>Added</c> and <c>Removed</c> in the class being written.</summary>
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
        using (w.Block("static global::System.Collections.Generic.IReadOnlyList<T> Removed<T>(global::System.Collections.Generic.IReadOnlyList<T> list, global::System.Func<T, bool> match)"))
        {
            w.Line("var copy = new global::System.Collections.Generic.List<T>(list.Count);");
            w.Line("foreach (var item in list) if (!match(item)) copy.Add(item);");
            w.Line("return copy;");
        }
    }
}
