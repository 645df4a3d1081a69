using System.Buffers;
using System.Text;
using System.Text.Json;
using Platform.Serialization;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary>The writer generated serializers use: its bytes must be JSON that System.Text.Json reads back to the same values.</summary>
public class JsonOutputTests
{
    delegate void Write(ref JsonOutput output);

    static string Written(Write write)
    {
        var buffer = new ArrayBufferWriter<byte>(16);
        var output = new JsonOutput(buffer);
        write(ref output);
        output.Commit();
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    static string SystemTextJson(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer)) write(writer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    [Theory]
    [InlineData("")]
    [InlineData("plain ascii 123")]
    [InlineData("quote \" backslash \\ slash /")]
    [InlineData("controls \n\r\t\u0001\u001f and \u007f")]
    [InlineData("html <script>&'+`")]
    [InlineData("한국어 주문 – emoji 📦")]
    public void strings_are_escaped_exactly_as_system_text_json_escapes_them(string value)
    {
        Assert.Equal(SystemTextJson(w => w.WriteStringValue(value)), Written((ref JsonOutput o) => o.String(value)));
    }

    [Fact]
    public void a_long_string_grows_the_buffer_without_losing_bytes()
    {
        var value = new string('x', 5000) + "é" + new string('y', 5000);
        var json = Written((ref JsonOutput o) => { o.Raw("["u8); o.String(value); o.Raw(","u8); o.String(value); o.Raw("]"u8); });
        var parsed = JsonDocument.Parse(json).RootElement;
        Assert.Equal(value, parsed[0].GetString());
        Assert.Equal(value, parsed[1].GetString());
    }

    [Fact]
    public void numbers_booleans_guids_dates_and_null_read_back_as_written()
    {
        var guid = Guid.NewGuid();
        var timestamp = new DateTimeOffset(2026, 11, 26, 10, 30, 15, TimeSpan.FromHours(9)).AddTicks(1234567);
        var json = Written((ref JsonOutput o) =>
        {
            o.Raw("{\"i\":"u8); o.Number(int.MinValue);
            o.Raw(",\"l\":"u8); o.Number(long.MaxValue);
            o.Raw(",\"d\":"u8); o.Number(-79228162514264337593543950335m);
            o.Raw(",\"e\":"u8); o.Number(0.1m);
            o.Raw(",\"f\":"u8); o.Number(0.1d);
            o.Raw(",\"g\":"u8); o.Number(1e300);
            o.Raw(",\"b\":"u8); o.Boolean(true);
            o.Raw(",\"u\":"u8); o.String(guid);
            o.Raw(",\"t\":"u8); o.String(timestamp);
            o.Raw(",\"day\":"u8); o.String(new DateOnly(2026, 2, 28));
            o.Raw(",\"n\":"u8); o.Null();
            o.Raw("}"u8);
        });
        var root = JsonDocument.Parse(json).RootElement;
        Assert.Equal(int.MinValue, root.GetProperty("i").GetInt32());
        Assert.Equal(long.MaxValue, root.GetProperty("l").GetInt64());
        Assert.Equal(-79228162514264337593543950335m, root.GetProperty("d").GetDecimal());
        Assert.Equal(0.1m, root.GetProperty("e").GetDecimal());
        Assert.Equal(0.1d, root.GetProperty("f").GetDouble());
        Assert.Equal(1e300, root.GetProperty("g").GetDouble());
        Assert.True(root.GetProperty("b").GetBoolean());
        Assert.Equal(guid, root.GetProperty("u").GetGuid());
        Assert.Equal(timestamp, root.GetProperty("t").GetDateTimeOffset());
        Assert.Equal(timestamp.Offset, root.GetProperty("t").GetDateTimeOffset().Offset);
        Assert.Equal("2026-02-28", root.GetProperty("day").GetString());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("n").ValueKind);
    }

    [Fact]
    public void a_number_json_cannot_hold_is_refused()
    {
        Assert.Throws<ArgumentException>(() => Written((ref JsonOutput o) => o.Number(double.NaN)));
        Assert.Throws<ArgumentException>(() => Written((ref JsonOutput o) => o.Number(double.PositiveInfinity)));
    }
}
