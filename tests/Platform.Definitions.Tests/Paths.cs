namespace Platform.Definitions.Tests;

/// <summary>Locates committed files from the test's output folder, whatever the working directory.</summary>
internal static class Paths
{
    public static string Root { get; } = FindRoot();

    public static string OrdersDefinitions => Path.Combine(Root, "examples", "Orders", "definitions");

    public static string SchemaFile => Path.Combine(Root, "definitions", "schema", "platform.schema.json");

    private static string FindRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Platform.sln")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException("Platform.sln not found above " + AppContext.BaseDirectory);
    }
}
