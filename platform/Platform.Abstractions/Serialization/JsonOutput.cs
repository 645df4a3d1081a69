using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Platform.Serialization;

/// <summary>
/// Writes JSON bytes straight into an <see cref="IBufferWriter{T}"/> for generated serializers.
/// Generated code knows the shape of every message, so it writes property names as pre-encoded
/// literals and needs none of <see cref="Utf8JsonWriter"/>'s per-token bookkeeping; this is what
/// makes generated serialization faster than System.Text.Json's. Output is valid JSON that
/// System.Text.Json reads, with strings escaped exactly as its default encoder escapes them.
/// </summary>
/// <remarks>Call <see cref="Commit"/> once at the end; nothing is visible to the buffer before.</remarks>
public ref struct JsonOutput
{
    const int MinimumChunk = 512;

    // Characters the default JavaScriptEncoder escapes within ASCII: controls, quote, backslash and
    // the HTML-sensitive ones. Anything outside ASCII also takes the escaping path.
    static readonly SearchValues<char> NeedsEscaping = SearchValues.Create(
        "\"\\<>&'+`\u007f\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f" +
        "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f");

    readonly IBufferWriter<byte> _output;
    Span<byte> _span;
    int _position;

    /// <summary>Starts writing into <paramref name="output"/>.</summary>
    public JsonOutput(IBufferWriter<byte> output)
    {
        _output = output;
        _span = output.GetSpan(MinimumChunk);
        _position = 0;
    }

    /// <summary>Hands the written bytes to the buffer.</summary>
    public void Commit()
    {
        _output.Advance(_position);
        _span = default;
        _position = 0;
    }

    /// <summary>Bytes that are already JSON: punctuation and pre-encoded property names such as <c>,"amount":</c>.</summary>
    public void Raw(ReadOnlySpan<byte> utf8Json)
    {
        Ensure(utf8Json.Length);
        utf8Json.CopyTo(_span[_position..]);
        _position += utf8Json.Length;
    }

    /// <summary>A string value, quoted and escaped.</summary>
    public void String(string value)
    {
        var text = value.AsSpan();
        if (text.ContainsAny(NeedsEscaping) || !Ascii.IsValid(text))
        {
            Escaped(value);
            return;
        }
        Ensure(text.Length + 2);
        _span[_position++] = (byte)'"';
        _position += Encoding.ASCII.GetBytes(text, _span[_position..]);
        _span[_position++] = (byte)'"';
    }

    void Escaped(string value)
    {
        var encoded = JsonEncodedText.Encode(value).EncodedUtf8Bytes;
        Ensure(encoded.Length + 2);
        _span[_position++] = (byte)'"';
        encoded.CopyTo(_span[_position..]);
        _position += encoded.Length;
        _span[_position++] = (byte)'"';
    }

    /// <summary>An integer.</summary>
    public void Number(int value) => Format(value, 11);

    /// <summary>An integer.</summary>
    public void Number(long value) => Format(value, 20);

    /// <summary>A decimal, as System.Text.Json writes it.</summary>
    public void Number(decimal value)
    {
        Ensure(31);
        Utf8Formatter.TryFormat(value, _span[_position..], out var written);
        _position += written;
    }

    /// <summary>A finite double, shortest round-trippable form. JSON has no NaN or infinity.</summary>
    public void Number(double value)
    {
        if (!double.IsFinite(value))
            throw new ArgumentException($"{value.ToString(CultureInfo.InvariantCulture)} is not a JSON number.", nameof(value));
        Ensure(32);
        value.TryFormat(_span[_position..], out var written, "R", CultureInfo.InvariantCulture);
        _position += written;
    }

    /// <summary><c>true</c> or <c>false</c>.</summary>
    public void Boolean(bool value) => Raw(value ? "true"u8 : "false"u8);

    /// <summary><c>null</c>.</summary>
    public void Null() => Raw("null"u8);

    /// <summary>A guid as a quoted <c>D</c>-format string.</summary>
    public void String(Guid value)
    {
        Ensure(38);
        _span[_position++] = (byte)'"';
        Utf8Formatter.TryFormat(value, _span[_position..], out var written);
        _position += written;
        _span[_position++] = (byte)'"';
    }

    /// <summary>A timestamp as a quoted ISO 8601 round-trip (<c>O</c>) string.</summary>
    public void String(DateTimeOffset value)
    {
        Ensure(35);
        _span[_position++] = (byte)'"';
        Utf8Formatter.TryFormat(value, _span[_position..], out var written, new StandardFormat('O'));
        _position += written;
        _span[_position++] = (byte)'"';
    }

    /// <summary>A date as a quoted <c>yyyy-MM-dd</c> string.</summary>
    public void String(DateOnly value)
    {
        Ensure(12);
        _span[_position++] = (byte)'"';
        value.TryFormat(_span[_position..], out var written, "yyyy-MM-dd", CultureInfo.InvariantCulture);
        _position += written;
        _span[_position++] = (byte)'"';
    }

    void Format<T>(T value, int maxLength) where T : IUtf8SpanFormattable
    {
        Ensure(maxLength);
        value.TryFormat(_span[_position..], out var written, default, CultureInfo.InvariantCulture);
        _position += written;
    }

    void Ensure(int length)
    {
        if (_span.Length - _position >= length) return;
        _output.Advance(_position);
        _span = _output.GetSpan(Math.Max(length, MinimumChunk));
        _position = 0;
    }
}
