namespace Platform.Runtime.Projections;

/// <summary>
/// A live batch found the projection's table built by another declaration of it (another build's
/// rebuild swapped its table in): this build stops writing the table, which its rows no longer fit.
/// </summary>
public sealed class ProjectionSupersededException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="projection">The projection.</param>
    /// <param name="stored">The fingerprint recorded for the live table.</param>
    /// <param name="own">This build's fingerprint.</param>
    public ProjectionSupersededException(string projection, string stored, string own)
        : base($"Projection {projection}: its table was rebuilt for another declaration (fingerprint {stored}; this build's is {own}); this instance stops writing it")
    {
        Projection = projection;
        Stored = stored;
        Own = own;
    }

    /// <summary>The projection.</summary>
    public string Projection { get; }

    /// <summary>The fingerprint recorded for the live table.</summary>
    public string Stored { get; }

    /// <summary>This build's fingerprint.</summary>
    public string Own { get; }
}
