using Platform.Definitions.Checks;
using Xunit;

namespace Platform.Definitions.Tests;

public sealed class HelperTests
{
    [Theory]
    [InlineData("plain", "\"plain\"")]
    [InlineData("quote \" and \\ backslash", "\"quote \\\" and \\\\ backslash\"")]
    [InlineData("line\nbreak\r\t", "\"line\\nbreak\\r\\t\"")]
    [InlineData("\"); System.Environment.Exit(1); //", "\"\\\"); System.Environment.Exit(1); //\"")]
    [InlineData("\u202Ereversed\u2028", "\"\\u202Ereversed\\u2028\"")]
    [InlineData("한국어", "\"\\uD55C\\uAD6D\\uC5B4\"")]
    public void string_literals_are_escaped_so_yaml_text_cannot_escape_them(string value, string expected)
    {
        Assert.Equal(expected, CSharpLiteral.String(value));
    }

    [Theory]
    [InlineData("orderId", true)]
    [InlineData("_internal", true)]
    [InlineData("Order2", true)]
    [InlineData("2order", false)]
    [InlineData("order-id", false)]
    [InlineData("order id", false)]
    [InlineData("ordér", false)]
    [InlineData("", false)]
    public void identifiers_are_ascii_csharp_names(string name, bool valid)
    {
        Assert.Equal(valid, IdentifierRules.IsValid(name));
    }

    [Theory]
    [InlineData("Class", "class")]
    [InlineData("event", "event")]
    [InlineData("Namespace", "namespace")]
    [InlineData("Order", null)]
    public void names_that_become_keywords_after_casing_are_found(string name, string? keyword)
    {
        Assert.Equal(keyword, IdentifierRules.KeywordAfterCasing(name));
    }

    [Fact]
    public void equatable_arrays_compare_by_content()
    {
        var left = EquatableArray.Of("a", "b");
        var right = new EquatableArray<string>(new List<string> { "a", "b" });
        Assert.Equal(left, right);
        Assert.Equal(left.GetHashCode(), right.GetHashCode());
        Assert.NotEqual(left, EquatableArray.Of("b", "a"));
        Assert.Equal(default(EquatableArray<string>), EquatableArray<string>.Empty);
        Assert.True(left == right);
    }
}
