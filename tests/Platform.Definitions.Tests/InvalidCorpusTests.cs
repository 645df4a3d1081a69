using System.Text;
using Xunit;

namespace Platform.Definitions.Tests;

/// <summary>
/// Every file under Invalid/ starts with '# expect: PLT0101@3:5 ...' listing exactly the
/// diagnostics (code, line, column) the file must produce, no more and no fewer.
/// </summary>
public sealed class InvalidCorpusTests
{
    private static string Folder => Path.Combine(AppContext.BaseDirectory, "Invalid");

    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var path in Directory.GetFiles(Folder, "*.yaml").Order(StringComparer.Ordinal)) data.Add(Path.GetFileName(path));
        return data;
    }

    [Fact]
    public void the_corpus_has_at_least_forty_files()
    {
        Assert.True(Files().Count >= 40, $"only {Files().Count} invalid files");
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void invalid_file_reports_exactly_the_expected_diagnostics(string name)
    {
        var path = Path.Combine(Folder, name);
        var bytes = File.ReadAllBytes(path);
        var expected = Expected(bytes);
        Assert.NotEmpty(expected);

        var actual = Corpus.Diagnose(path, bytes)
            .Where(d => d.Span.Path == path)
            .Select(Corpus.Format)
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.Equal(expected.Order(StringComparer.Ordinal).ToList(), actual);
    }

    private static List<string> Expected(byte[] bytes)
    {
        var newline = Array.IndexOf(bytes, (byte)'\n');
        var header = Encoding.ASCII.GetString(bytes, 0, newline < 0 ? bytes.Length : newline);
        const string prefix = "# expect:";
        Assert.StartsWith(prefix, header);
        return header.Substring(prefix.Length).Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();
    }
}
