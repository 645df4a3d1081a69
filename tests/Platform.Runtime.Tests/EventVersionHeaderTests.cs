using System.Text.Json;
using MassTransit.Serialization;
using Platform.Messaging;
using Platform.Runtime.Messaging;
using Xunit;

namespace Platform.Runtime.Tests;

/// <summary>
/// <see cref="PlatformHeaders.PayloadVersion"/> as it arrives: text from the relay, a number from a
/// broker or a hand-made message; anything else is no version, and the message is read as this
/// build's (as one from a relay before the header).
/// </summary>
public sealed class EventVersionHeaderTests
{
    public static TheoryData<object, int> Readable => new() { { "1", 1 }, { "12", 12 }, { 3, 3 }, { 4L, 4 }, { JsonDocument.Parse("5").RootElement, 5 } };

    [Theory]
    [MemberData(nameof(Readable))]
    public void a_version_written_as_text_or_as_a_number_is_read(object value, int version)
    {
        Assert.True(PayloadVersionHeader.TryRead(Headers(value), out var read));
        Assert.Equal(version, read);
    }

    public static TheoryData<object?> Unreadable => new() { "two", "-1", "0", "", 0, -2, -1L, 5_000_000_000L, -4_294_967_295L, JsonDocument.Parse("\"2\"").RootElement, 2.5, null };

    [Theory]
    [MemberData(nameof(Unreadable))]
    public void anything_else_is_no_version(object? value) =>
        Assert.False(PayloadVersionHeader.TryRead(value is null ? new DictionarySendHeaders() : Headers(value), out _));

    [Theory]
    [InlineData("3", true)]
    [InlineData("0", false)]
    [InlineData("-1", false)]
    [InlineData(null, false)]
    public void a_letters_version_text_is_parsed_the_same_way(string? text, bool parsed) =>
        Assert.Equal(parsed, PayloadVersionHeader.TryParse(text, out _));

    [Fact]
    public void the_relay_writes_the_usual_versions_without_a_string_each_time()
    {
        Assert.Same(PayloadVersionHeader.Text(2), PayloadVersionHeader.Text(2));
        Assert.Equal(["1", "31", "32", "1000"], new[] { 1, 31, 32, 1000 }.Select(PayloadVersionHeader.Text));
    }

    static DictionarySendHeaders Headers(object value) => new(new Dictionary<string, object?> { [PlatformHeaders.PayloadVersion] = value });
}
