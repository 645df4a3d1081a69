namespace Platform.Projections;

/// <summary>
/// A projection's unit of work that knows, for the batch it runs, which read-model rows do not
/// exist. The projection engine loads every row a batch of events touches with one query, so a
/// row it did not find is known to be absent; the generated handlers ask before
/// <c>FindAsync</c>, whose query for a missing row would otherwise run EF Core's whole query
/// pipeline only to be answered "no row" (a third of a rebuild's lookups, one per created row).
/// </summary>
public interface IKnownAbsentRows
{
    /// <summary>
    /// True only when the row with this key is known not to be stored nor added in this unit of
    /// work; false when unknown, in which case the caller looks the row up as usual.
    /// </summary>
    /// <param name="key">The row's key, of the key property's type.</param>
    bool IsKnownAbsent(object key);
}
