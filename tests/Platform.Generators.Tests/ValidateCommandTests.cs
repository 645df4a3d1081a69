using System.CommandLine;
using System.Text.Json;
using Platform.Cli.Commands;
using Xunit;

namespace Platform.Generators.Tests;

/// <summary><c>platform validate</c>: diagnostics for people and, with <c>--json</c>, for scripts.</summary>
public sealed class ValidateCommandTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("platform-validate-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    static async Task<(int ExitCode, string Output)> ValidateAsync(params string[] args)
    {
        var output = new StringWriter();
        var root = new RootCommand { ValidateCommand.Create() };
        var exitCode = await root.Parse(["validate", .. args]).InvokeAsync(new InvocationConfiguration { Output = output, Error = output });
        return (exitCode, output.ToString());
    }

    [Fact]
    public async Task the_json_form_lists_each_diagnostic_with_file_line_and_column_and_exits_1_on_errors()
    {
        foreach (var file in Directory.GetFiles(GeneratorHarness.OrdersDefinitions))
            File.Copy(file, Path.Combine(_folder, Path.GetFileName(file)));
        // An event of the order file loses its closing bracket: a YAML syntax error on that line.
        var order = Path.Combine(_folder, "order.yaml");
        File.AppendAllText(order, "\nbroken: [unclosed\n");
        var lines = File.ReadAllLines(order).Length;

        var (code, output) = await ValidateAsync(_folder, "--json");

        Assert.Equal(1, code);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        Assert.True(root.GetProperty("errors").GetInt32() >= 1);
        // The syntax error in order.yaml (the files that refer to its aggregate then report their own).
        var error = root.GetProperty("diagnostics").EnumerateArray()
            .Single(d => d.GetProperty("severity").GetString() == "error" && d.GetProperty("path").GetString() == order);
        Assert.InRange(error.GetProperty("line").GetInt32(), lines - 1, lines + 1);
        Assert.True(error.GetProperty("column").GetInt32() >= 1);
        Assert.StartsWith("PLT", error.GetProperty("code").GetString(), StringComparison.Ordinal);
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));

        // The same diagnostics in the canonical one-line form, with the counts.
        (code, output) = await ValidateAsync(_folder);
        Assert.Equal(1, code);
        Assert.Contains($"{order}({error.GetProperty("line").GetInt32()},{error.GetProperty("column").GetInt32()}): error {error.GetProperty("code").GetString()}: ",
            output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task the_orders_example_validates_clean_in_both_forms()
    {
        var (code, output) = await ValidateAsync(GeneratorHarness.OrdersDefinitions, "--json");
        Assert.Equal(0, code);
        using (var json = JsonDocument.Parse(output))
        {
            Assert.Equal(0, json.RootElement.GetProperty("errors").GetInt32());
            Assert.Equal(7, json.RootElement.GetProperty("files").GetInt32());
        }
        (code, output) = await ValidateAsync(GeneratorHarness.OrdersDefinitions);
        Assert.Equal(0, code);
        Assert.Contains("7 files, 0 errors", output, StringComparison.Ordinal);
    }
}
