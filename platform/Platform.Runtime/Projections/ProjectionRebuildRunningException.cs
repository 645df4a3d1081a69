namespace Platform.Runtime.Projections;

/// <summary>
/// Another rebuild of the projection is running (another instance's at start, or
/// <c>platform projections rebuild</c>): two would share its shadow checkpoint.
/// </summary>
public sealed class ProjectionRebuildRunningException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="projection">The projection.</param>
    public ProjectionRebuildRunningException(string projection)
        : base($"Another rebuild of projection {projection} is running (a runtime's rebuild for a changed declaration, or platform projections rebuild); wait for it to finish")
    {
        Projection = projection;
    }

    /// <summary>The projection.</summary>
    public string Projection { get; }
}
