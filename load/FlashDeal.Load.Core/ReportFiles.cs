using System.Text.Json;
using System.Text.Json.Serialization;

namespace FlashDeal.Load;

/// <summary>Writes report.json, report.md and chart.svg into the --out directory, and reads report.json back.</summary>
public static class ReportFiles
{
    public static JsonSerializerOptions JsonOptions { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public static async Task WriteAsync(LoadReport report, string directory)
    {
        ArgumentNullException.ThrowIfNull(report);
        Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, "report.json"), JsonSerializer.Serialize(report, JsonOptions))
            .ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(directory, "report.md"), ConsoleReport.RenderMarkdown(report))
            .ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(directory, "chart.svg"), SvgChart.Render(report)).ConfigureAwait(false);
    }

    public static LoadReport? ReadJson(string path) => JsonSerializer.Deserialize<LoadReport>(File.ReadAllText(path), JsonOptions);
}
