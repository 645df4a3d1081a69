using System.Globalization;
using System.Text;

namespace Platform.Definitions;

/// <summary>
/// The only way YAML text may reach generated C# other than as a checked identifier: as a
/// string literal escaped here. Every character outside printable ASCII is written as a
/// \u escape, so no line break, quote, or bidirectional control can end or disguise the literal.
/// </summary>
public static class CSharpLiteral
{
    public static string String(string value)
    {
        var builder = new StringBuilder(value.Length + 2);
        builder.Append('"');
        foreach (var character in value)
        {
            switch (character)
            {
                case '"': builder.Append("\\\""); break;
                case '\\': builder.Append("\\\\"); break;
                case '\n': builder.Append("\\n"); break;
                case '\r': builder.Append("\\r"); break;
                case '\t': builder.Append("\\t"); break;
                case '\0': builder.Append("\\0"); break;
                default:
                    if (character < 0x20 || character > 0x7E)
                    {
                        builder.Append("\\u").Append(((int)character).ToString("X4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        builder.Append(character);
                    }
                    break;
            }
        }
        builder.Append('"');
        return builder.ToString();
    }
}
