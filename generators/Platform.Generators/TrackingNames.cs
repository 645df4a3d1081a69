namespace Platform.Generators;

/// <summary>Names of the pipeline steps, so tests can assert what was cached.</summary>
public static class TrackingNames
{
    public const string ParseDefinition = nameof(ParseDefinition);
    public const string CheckDefinitions = nameof(CheckDefinitions);
    public const string BuildTypeIndex = nameof(BuildTypeIndex);
    public const string EmitDefinition = nameof(EmitDefinition);
    public const string BuildRegistration = nameof(BuildRegistration);
}
