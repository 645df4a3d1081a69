using Platform.Definitions.Compatibility;
using Platform.Definitions.Diagnostics;
using Platform.Definitions.Workspace;
using Xunit;

namespace Platform.Definitions.Tests;

/// <summary>What 'platform validate' and 'platform lock' do, on copies of the example in a temporary folder.</summary>
public sealed class DefinitionDirectoryTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("platform-definitions-");

    public DefinitionDirectoryTests()
    {
        foreach (var file in Directory.GetFiles(Paths.OrdersDefinitions))
        {
            File.Copy(file, Path.Combine(_folder.FullName, Path.GetFileName(file)));
        }
    }

    public void Dispose() => _folder.Delete(recursive: true);

    private string FileIn(string name) => Path.Combine(_folder.FullName, name);

    private void Edit(string name, string from, string to)
    {
        var text = File.ReadAllText(FileIn(name));
        Assert.Contains(from, text);
        File.WriteAllText(FileIn(name), text.Replace(from, to));
    }

    private IReadOnlyList<DiagnosticInfo> Validate() => DefinitionDirectory.Load(_folder.FullName).Validate();

    [Fact]
    public void the_example_validates_with_no_diagnostics()
    {
        var definitions = DefinitionDirectory.Load(_folder.FullName);
        Assert.Equal(7, definitions.Set.Files.Count);
        Assert.Empty(definitions.Validate());
    }

    [Fact]
    public void errors_print_in_msbuild_canonical_form()
    {
        Edit("reactions.yaml", "send: ShipOrder", "send: ShipOrdr");
        var error = Assert.Single(Validate());
        Assert.Equal($"{FileIn("reactions.yaml")}(6,11): error PLT0205: Command 'ShipOrdr' is not declared in any definition file. Did you mean 'ShipOrder'?", error.ToCanonicalString());
    }

    [Fact]
    public void without_a_lock_file_every_version_is_a_warning()
    {
        File.Delete(FileIn(LockFileFormat.FileName));
        var diagnostics = Validate();
        Assert.Equal(15, diagnostics.Count);
        Assert.All(diagnostics, d => Assert.Equal(("PLT0803", DiagnosticSeverity.Warning), (d.Code, d.Severity)));
        Assert.Contains(diagnostics, d => d.ToCanonicalString().StartsWith(FileIn("order.yaml") + "(53,14): warning PLT0803: Version 2 of 'OrderPlaced'", StringComparison.Ordinal));
    }

    [Fact]
    public void a_published_version_edited_in_place_is_an_error()
    {
        Edit("order.yaml", "fields: { trackingNumber: string }", "fields: { trackingNumber: string, carrier: string? }");
        var error = Assert.Single(Validate());
        Assert.Equal(("PLT0801", DiagnosticSeverity.Error, 85), (error.Code, error.Severity, error.Span.StartLine));
    }

    [Fact]
    public void lock_publishes_a_compatible_new_version_and_refuses_an_edit_of_a_published_one()
    {
        Edit("order.yaml",
            "    fields: { trackingNumber: string }\n    apply: { status: Shipped,",
            "    version: 2\n    fields: { trackingNumber: string, carrier: string }\n    previous:\n      - version: 1\n        fields: { trackingNumber: string }\n        upcast: { carrier: { default: UNKNOWN } }\n    apply: { status: Shipped,");
        Edit("order.yaml", "      trackingNumber: { type: string, nonEmpty: true }\n", "      trackingNumber: { type: string, nonEmpty: true }\n      carrier: string\n");
        Edit("reactions.yaml", "trackingNumber: $trackingNumber }", "trackingNumber: $trackingNumber, carrier: UNKNOWN }");
        Assert.Equal(new[] { "PLT0803" }, Validate().Select(d => d.Code).ToArray());

        var outcome = DefinitionDirectory.Load(_folder.FullName).Lock();
        Assert.True(outcome.Written && outcome.Changed);
        Assert.Empty(Validate());
        Assert.False(DefinitionDirectory.Load(_folder.FullName).Lock().Changed);

        Edit("order.yaml", "fields: { trackingNumber: string, carrier: string }", "fields: { trackingNumber: string, carrier: int }");
        var lockBefore = File.ReadAllText(FileIn(LockFileFormat.FileName));
        var refused = DefinitionDirectory.Load(_folder.FullName).Lock();
        Assert.False(refused.Written);
        Assert.Contains(refused.Errors, e => e.Code == "PLT0801");
        Assert.Equal(lockBefore, File.ReadAllText(FileIn(LockFileFormat.FileName)));
    }

    [Fact]
    public void a_saga_state_removed_is_refused_by_lock_until_the_operator_accepts_it()
    {
        // Renaming the shipping step's state strands the instances stored in the old one.
        Edit("fulfilment.yaml", "AwaitingShipment", "AwaitingDelivery");
        var error = Assert.Single(Validate(), d => d.Severity == DiagnosticSeverity.Error);
        Assert.Equal("PLT0807", error.Code);
        Assert.StartsWith(FileIn("fulfilment.yaml") + "(", error.ToCanonicalString(), StringComparison.Ordinal);

        var lockBefore = File.ReadAllText(FileIn(LockFileFormat.FileName));
        var refused = DefinitionDirectory.Load(_folder.FullName).Lock();
        Assert.False(refused.Written);
        Assert.Equal(lockBefore, File.ReadAllText(FileIn(LockFileFormat.FileName)));

        var accepted = DefinitionDirectory.Load(_folder.FullName).Lock(acceptSagaChanges: true);
        Assert.True(accepted.Written && accepted.Changed);
        var states = Assert.Single(accepted.LockFile!.Sagas!.Value).States;
        Assert.Contains("AwaitingDelivery", states);
        Assert.DoesNotContain("AwaitingShipment", states);
        Assert.Empty(Validate());
    }

    [Fact]
    public void lock_refuses_while_the_definitions_have_errors()
    {
        File.Delete(FileIn(LockFileFormat.FileName));
        Edit("fulfilment.yaml", "send: ChargePayment", "send: ChargePaymnt");
        var outcome = DefinitionDirectory.Load(_folder.FullName).Lock();
        Assert.False(outcome.Written);
        Assert.Equal("PLT0205", Assert.Single(outcome.Errors).Code);
        Assert.False(File.Exists(FileIn(LockFileFormat.FileName)));
    }

    [Fact]
    public void a_service_folder_means_its_definitions_subfolder()
    {
        var service = Directory.CreateTempSubdirectory("platform-service-");
        try
        {
            var definitions = Directory.CreateDirectory(Path.Combine(service.FullName, DefinitionDirectory.ConventionalFolder));
            foreach (var file in Directory.GetFiles(_folder.FullName)) File.Copy(file, Path.Combine(definitions.FullName, Path.GetFileName(file)));
            // Runtime configuration beside the definitions is not a definition file.
            File.WriteAllText(Path.Combine(service.FullName, "platform.yaml"), "transport: inmemory\n");
            var loaded = DefinitionDirectory.Load(service.FullName);
            Assert.Equal(definitions.FullName, loaded.Path);
            Assert.Empty(loaded.Validate());
        }
        finally
        {
            service.Delete(recursive: true);
        }
    }
}
