using System.Collections.Generic;
using Platform.Definitions;
using Platform.Definitions.Model;
using Platform.Generators.Model;

namespace Platform.Generators.Emit;

/// <summary>Guards (<c>when</c>, <c>require</c>, <c>where</c>) as C# boolean expressions.</summary>
internal static class Conditions
{
    /// <param name="subject">C# for the field the condition tests.</param>
    /// <param name="subjectType">Its type, so literals convert to it (enum members, decimals).</param>
    public static string Of(Condition condition, string subject, TypeRef? subjectType, ExpressionScope scope, string ns, TypeIndex index)
    {
        var operands = new List<string>();
        foreach (var operand in condition.Operands)
            // Converted to the subject's type but left optional: a comparison with an absent value is false, as C# lifts it.
            operands.Add(Expressions.Of(operand, subjectType is null ? null : subjectType with { IsOptional = true }, scope, ns, index));
        string Any()
        {
            if (operands.Count == 0) return "false";
            var parts = new List<string>();
            foreach (var operand in operands) parts.Add($"{subject} == {operand}");
            return string.Join(" || ", parts);
        }
        return condition.Operator switch
        {
            ConditionOperator.Equal => $"{subject} == {First(operands)}",
            ConditionOperator.NotEqual => $"{subject} != {First(operands)}",
            ConditionOperator.In => $"({Any()})",
            ConditionOperator.NotIn => $"!({Any()})",
            ConditionOperator.GreaterThan => $"{subject} > {First(operands)}",
            ConditionOperator.GreaterOrEqual => $"{subject} >= {First(operands)}",
            ConditionOperator.LessThan => $"{subject} < {First(operands)}",
            ConditionOperator.LessOrEqual => $"{subject} <= {First(operands)}",
            ConditionOperator.NonEmpty => NonEmpty(subject, subjectType),
            _ => "true",
        };
    }

    static string First(List<string> operands) => operands.Count > 0 ? operands[0] : "default";

    public static string NonEmpty(string subject, TypeRef? type) => type?.Kind switch
    {
        TypeKind.List or TypeKind.Map => $"{subject} is {{ Count: > 0 }}",
        _ => $"!string.IsNullOrWhiteSpace({subject})",
    };

    /// <summary>Readable text of a condition for rejection messages, built from checked names only.</summary>
    public static string Describe(Condition condition)
    {
        var operands = new List<string>();
        foreach (var operand in condition.Operands) operands.Add(operand.Text);
        var list = string.Join(", ", operands);
        return condition.Operator switch
        {
            ConditionOperator.Equal => $"{condition.Subject} must be {list}",
            ConditionOperator.NotEqual => $"{condition.Subject} must not be {list}",
            ConditionOperator.In => $"{condition.Subject} must be one of [{list}]",
            ConditionOperator.NotIn => $"{condition.Subject} must not be one of [{list}]",
            ConditionOperator.GreaterThan => $"{condition.Subject} must be greater than {list}",
            ConditionOperator.GreaterOrEqual => $"{condition.Subject} must be at least {list}",
            ConditionOperator.LessThan => $"{condition.Subject} must be less than {list}",
            ConditionOperator.LessOrEqual => $"{condition.Subject} must be at most {list}",
            _ => $"{condition.Subject} must not be empty",
        };
    }
}
