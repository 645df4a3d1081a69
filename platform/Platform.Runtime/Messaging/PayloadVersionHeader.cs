using System.Globalization;
using System.Text.Json;
using MassTransit;
using Platform.Messaging;

namespace Platform.Runtime.Messaging;

/// <summary>
/// <see cref="PlatformHeaders.PayloadVersion"/> written and read: by the relay, the consumers'
/// <see cref="EventVersionFilter{T}"/> and the dead-letter replay, one way for all three.
/// </summary>
static class PayloadVersionHeader
{
    static readonly string[] Texts = Enumerable.Range(0, 32).Select(v => v.ToString(CultureInfo.InvariantCulture)).ToArray();

    /// <summary>A version as the header's text, without a string per message for the usual ones.</summary>
    public static string Text(int version) => (uint)version < (uint)Texts.Length ? Texts[version] : version.ToString(CultureInfo.InvariantCulture);

    /// <summary>The version in the header's text (as a letter keeps it); versions start at 1.</summary>
    public static bool TryParse(string? text, out int version) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out version) && version > 0;

    /// <summary>The header's version: the relay writes text; a broker or a hand-made message may give a number.</summary>
    public static bool TryRead(Headers headers, out int version)
    {
        version = 0;
        if (!headers.TryGetHeader(PlatformHeaders.PayloadVersion, out var value))
            return false;
        version = value switch
        {
            string text when TryParse(text, out var parsed) => parsed,
            int number => number,
            long number when number is > 0 and <= int.MaxValue => (int)number,
            JsonElement { ValueKind: JsonValueKind.Number } element when element.TryGetInt32(out var parsed) => parsed,
            _ => 0,
        };
        return version > 0;
    }
}
