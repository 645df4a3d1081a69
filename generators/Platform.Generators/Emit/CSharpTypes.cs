using Platform.Definitions.Model;
using Platform.Generators.Model;

namespace Platform.Generators.Emit;

/// <summary>Maps definition types to C# types, all <c>global::</c>-qualified.</summary>
internal static class CSharpTypes
{
    /// <param name="type">The declared type.</param>
    /// <param name="ownerNamespace">Namespace of the file that declares the field: in-place enums live there.</param>
    /// <param name="index">Where named types are found.</param>
    public static string Of(TypeRef type, string ownerNamespace, TypeIndex index)
    {
        var core = type.Kind switch
        {
            TypeKind.Primitive => Primitive(type.Primitive),
            TypeKind.List => "global::System.Collections.Generic.IReadOnlyList<" + Of(type.Element!, ownerNamespace, index) + ">",
            TypeKind.Map => "global::System.Collections.Generic.IReadOnlyDictionary<" + Of(type.Key!, ownerNamespace, index) + ", " + Of(type.Element!, ownerNamespace, index) + ">",
            TypeKind.Enum => Names.Global(ownerNamespace, type.Name),
            _ => Names.Global(index.FindType(type.Name)?.Namespace ?? ownerNamespace, type.Name),
        };
        return type.IsOptional ? core + "?" : core;
    }

    public static string Primitive(PrimitiveType primitive) => primitive switch
    {
        PrimitiveType.String => "string",
        PrimitiveType.Int => "int",
        PrimitiveType.Long => "long",
        PrimitiveType.Decimal => "decimal",
        PrimitiveType.Double => "double",
        PrimitiveType.Bool => "bool",
        PrimitiveType.Guid => "global::System.Guid",
        PrimitiveType.Timestamp => "global::System.DateTimeOffset",
        PrimitiveType.Date => "global::System.DateOnly",
        _ => "object",
    };

    /// <summary>True for types whose <c>?</c> makes a <c>Nullable&lt;T&gt;</c>.</summary>
    public static bool IsValueType(TypeRef type, TypeIndex index) => type.Kind switch
    {
        TypeKind.Primitive => type.Primitive != PrimitiveType.String,
        TypeKind.Enum => true,
        TypeKind.Named => index.FindType(type.Name)?.IsEnum == true,
        _ => false,
    };

    /// <summary>The value a non-optional field has before anything sets it.</summary>
    public static string Default(TypeRef type, string ownerNamespace, TypeIndex index)
    {
        if (type.IsOptional) return "null";
        return type.Kind switch
        {
            TypeKind.Primitive when type.Primitive == PrimitiveType.String => "\"\"",
            TypeKind.List => "global::System.Array.Empty<" + Of(type.Element!, ownerNamespace, index) + ">()",
            TypeKind.Map => "new global::System.Collections.Generic.Dictionary<" + Of(type.Key!, ownerNamespace, index) + ", " + Of(type.Element!, ownerNamespace, index) + ">()",
            TypeKind.Named when index.FindType(type.Name)?.IsEnum != true => "null!",
            _ => "default",
        };
    }
}
