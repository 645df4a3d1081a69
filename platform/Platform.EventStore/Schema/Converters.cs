using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Platform.EventStore.Schema;

static class Converters
{
    public static readonly ValueConverter<DateTimeOffset, long> UtcTicks =
        new(v => v.UtcTicks, v => new DateTimeOffset(v, TimeSpan.Zero));
}
