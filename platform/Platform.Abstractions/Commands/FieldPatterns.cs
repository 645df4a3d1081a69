using System.Text.RegularExpressions;

namespace Platform.Commands;

/// <summary>A field's declared <c>pattern:</c>, as generated command validation uses it.</summary>
public static class FieldPatterns
{
    /// <summary>
    /// Whether <paramref name="value"/> matches <paramref name="pattern"/> (generated anchored to the
    /// whole text, with a match timeout). A match that runs out of time counts as no match: the
    /// command is refused as invalid instead of failing in its handler.
    /// </summary>
    public static bool Matches(Regex pattern, string value)
    {
        try
        {
            return pattern.IsMatch(value);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }
}
