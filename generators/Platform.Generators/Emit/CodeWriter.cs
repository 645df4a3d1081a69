using System;
using System.Globalization;
using System.Text;

namespace Platform.Generators.Emit;

/// <summary>
/// An indenting text writer for generated C#. Output is byte-identical for the same calls:
/// '\n' line endings, four-space indents, invariant culture.
/// </summary>
internal sealed class CodeWriter
{
    readonly StringBuilder text = new();
    int depth;
    bool atLineStart = true;

    public CodeWriter Line(string line = "")
    {
        if (line.Length > 0)
        {
            Indent();
            text.Append(line);
        }
        text.Append('\n');
        atLineStart = true;
        return this;
    }

    public CodeWriter Append(string fragment)
    {
        Indent();
        text.Append(fragment);
        return this;
    }

    /// <summary>Writes several lines (e.g. a raw string literal), each at the current indent.</summary>
    public CodeWriter Lines(string block)
    {
        foreach (var line in block.Replace("\r\n", "\n").Split('\n'))
            Line(line.TrimEnd());
        return this;
    }

    public CodeWriter Open(string header)
    {
        Line(header);
        Line("{");
        depth++;
        return this;
    }

    public CodeWriter Close(string trailer = "")
    {
        depth--;
        Line("}" + trailer);
        return this;
    }

    /// <summary>Opens a block and closes it when the returned scope is disposed.</summary>
    public Scope Block(string header)
    {
        Open(header);
        return new Scope(this);
    }

    public string Format(FormattableString value) => value.ToString(CultureInfo.InvariantCulture);

    public override string ToString() => text.ToString();

    void Indent()
    {
        if (!atLineStart) return;
        text.Append(' ', depth * 4);
        atLineStart = false;
    }

    public readonly struct Scope(CodeWriter writer) : IDisposable
    {
        public void Dispose() => writer.Close();
    }
}
