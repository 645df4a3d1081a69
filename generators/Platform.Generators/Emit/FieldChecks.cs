using System.Globalization;
using Platform.Definitions;
using Platform.Definitions.Model;
using Platform.Generators.Model;

namespace Platform.Generators.Emit;

/// <summary>
/// A field's declared constraints as validation statements adding to a local <c>errors</c> list: a
/// command's fields in its <c>Validate()</c>, and a value type's members in its
/// <c>IValidatable.Validate(path, ref errors)</c>, which a command calls for the values it holds
/// (<c>items[0].quantity must be at least 1</c>).
/// </summary>
internal static class FieldChecks
{
    /// <summary>
    /// Each declared pattern once per type, anchored to the whole text; a match that takes longer
    /// than a second (a pathological pattern) counts as no match (<c>FieldPatterns.Matches</c>).
    /// </summary>
    /// <returns>How many it wrote, each after a blank line except the first without <paramref name="blankFirst"/>.</returns>
    public static int EmitPatterns(CodeWriter w, EquatableArray<FieldDefinition> fields, bool blankFirst = true)
    {
        var written = 0;
        foreach (var field in fields)
        {
            if (field.Constraints?.Pattern is not { } pattern) continue;
            if (written++ > 0 || blankFirst) w.Line();
            w.Line($"static readonly global::System.Text.RegularExpressions.Regex {PatternField(field)} = new({CSharpLiteral.String("^(?:" + pattern + ")$")},");
            w.Line("    global::System.Text.RegularExpressions.RegexOptions.CultureInvariant, global::System.TimeSpan.FromSeconds(1));");
        }
        return written;
    }

    /// <summary>Whether a value of <paramref name="type"/> holds a value type with constraints (itself, or in a list or map).</summary>
    public static bool HoldsValidated(TypeRef type, TypeIndex index) => type.Kind switch
    {
        TypeKind.Named => index.FindType(type.Name) is { IsEnum: false, Validates: true },
        TypeKind.List or TypeKind.Map => type.Element is { } element && HoldsValidated(element, index),
        _ => false,
    };

    /// <param name="path">
    /// Null for a command's own field (its errors name the field); for a value type's member, the C#
    /// expression of the path to the value (its errors read <c>path.field ...</c>).
    /// </param>
    public static void Emit(CodeWriter w, FieldDefinition field, TypeIndex index, string? path)
    {
        var property = Names.Pascal(field.Name);
        var type = field.Type;
        var isReference = type.Kind is TypeKind.List or TypeKind.Map
            || (type.Kind == TypeKind.Primitive && type.Primitive == PrimitiveType.String)
            || type.Kind == TypeKind.Named;
        // A command's required text, list or map sent as null; a value type's members are checked
        // for what they declare only.
        if (path is null && !type.IsOptional && isReference && type.Kind != TypeKind.Named)
            w.Line($"if ({property} is null) (errors ??= new()).Add({Text(path, field.Name + " is required")});");
        if (field.Constraints is { } constraints)
        {
            if (constraints.NonEmpty)
            {
                var test = type.Kind is TypeKind.List or TypeKind.Map ? $"{property} is not {{ Count: > 0 }}" : $"string.IsNullOrWhiteSpace({property})";
                w.Line($"if ({test}) (errors ??= new()).Add({Text(path, field.Name + " must not be empty")});");
            }
            if (constraints.MaxLength is { } maxLength)
            {
                var length = type.Kind is TypeKind.List or TypeKind.Map ? "Count" : "Length";
                var text = maxLength.ToString(CultureInfo.InvariantCulture);
                w.Line($"if ({property}?.{length} > {text}) (errors ??= new()).Add({Text(path, field.Name + " must be at most " + text + (length == "Count" ? " items" : " characters"))});");
            }
            if (constraints.Pattern is { } pattern)
            {
                // An absent optional value is not checked.
                w.Line($"if ({property} is not null && !global::Platform.Commands.FieldPatterns.Matches({PatternField(field)}, {property})) (errors ??= new()).Add({Text(path, field.Name + " must match " + pattern)});");
            }
            if (constraints.Min is { } min)
            {
                var text = min.ToString(CultureInfo.InvariantCulture);
                w.Line($"if ((decimal?){property} < {text}m) (errors ??= new()).Add({Text(path, field.Name + " must be at least " + text)});");
            }
            if (constraints.Max is { } max)
            {
                var text = max.ToString(CultureInfo.InvariantCulture);
                w.Line($"if ((decimal?){property} > {text}m) (errors ??= new()).Add({Text(path, field.Name + " must be at most " + text)});");
            }
        }
        Nested(w, field, index, path);
    }

    /// <summary>The constraints of the value types a field holds, by their own paths.</summary>
    static void Nested(CodeWriter w, FieldDefinition field, TypeIndex index, string? path)
    {
        var property = Names.Pascal(field.Name);
        var type = field.Type;
        const string Validatable = "global::Platform.Commands.IValidatable";
        var label = path is null ? CSharpLiteral.String(field.Name) : $"{path} + {CSharpLiteral.String("." + field.Name)}";
        if (type.Kind == TypeKind.Named && HoldsValidated(type, index))
            w.Line($"if ({property} is not null) (({Validatable}){property}).Validate({label}, ref errors);");
        else if (type.Kind == TypeKind.List && type.Element is { Kind: TypeKind.Named } element && HoldsValidated(element, index))
            w.Line($"if ({property} is not null) for (var i = 0; i < {property}.Count; i++) if ({property}[i] is {{ }} item) (({Validatable})item).Validate({label} + \"[\" + i.ToString(global::System.Globalization.CultureInfo.InvariantCulture) + \"]\", ref errors);");
        else if (type.Kind == TypeKind.Map && type.Element is { Kind: TypeKind.Named } value && HoldsValidated(value, index))
            w.Line($"if ({property} is not null) foreach (var entry in {property}) if (entry.Value is {{ }} item) (({Validatable})item).Validate({label} + \"[\" + entry.Key + \"]\", ref errors);");
    }

    // Lower case with a prefix: no declared field's property (Pascal case) can have its name.
    static string PatternField(FieldDefinition field) => "s_" + field.Name + "Pattern";

    static string Text(string? path, string text) =>
        path is null ? CSharpLiteral.String(text) : $"{path} + {CSharpLiteral.String("." + text)}";
}
