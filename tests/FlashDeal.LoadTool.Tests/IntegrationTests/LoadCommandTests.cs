using System.Text.Json;
using FlashDeal.LoadTool.Cli;
using FlashDeal.LoadTool.Tests.Infrastructure;

namespace FlashDeal.LoadTool.Tests.IntegrationTests;

/// <summary>`./flashdeal load spike` end to end: options → set-up → the engine's plan → invariants → report and exit code.</summary>
[Collection(MeshCollection.Name)]
public sealed class LoadCommandTests(MeshFixture mesh) : IDisposable
{
    private readonly string _out = Directory.CreateTempSubdirectory("load-command-").FullName;

    public void Dispose() => Directory.Delete(_out, recursive: true);

    [Theory]
    [InlineData("grpc")]
    [InlineData("rest")]
    public async Task SpikeRunsThroughTheEngineAndPasses(string transport)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var code = await LoadCommand.RunAsync(
        [
            "spike", "--transport", transport, .. ScenarioDriver.MeshArgs(mesh), "--users", "25", "--stock", "10",
            "--opens-in", "1s", "--user-prefix", $"command-{transport}", "--check-timeout", "10s",
            "--stages", "spike:2s:40:hold", "--max-iterations", "60", "--out", _out, "--quiet",
        ], stdout, stderr, _ => null, CancellationToken.None);

        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
        using var report = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_out, "report.json")));
        var text = report.RootElement.GetRawText();
        Assert.Contains("\"log-in\"", text);
        Assert.Contains("place_order", text);
        Assert.Contains("SOLD_OUT", text);
        Assert.Contains("redis stock taken = accepted", text);
        Assert.Contains(transport, text);
        Assert.True(File.Exists(Path.Combine(_out, "report.md")));
        Assert.True(File.Exists(Path.Combine(_out, "chart.svg")));
    }

    [Fact]
    public async Task UnreachableStoresFailTheRunWithExitCodeOne()
    {
        var stderr = new StringWriter();

        var code = await LoadCommand.RunAsync(
        [
            "spike", .. ScenarioDriver.MeshArgs(mesh), "--redis", "127.0.0.1:9,connectTimeout=500,abortConnect=true",
            "--users", "3", "--stock", "2", "--opens-in", "1s", "--user-prefix", "command-no-redis", "--quiet",
        ], TextWriter.Null, stderr, _ => null, CancellationToken.None);

        Assert.Equal(1, code);
        Assert.Contains("--redis", stderr.ToString());
    }
}
