using System.Text.Json;
using System.Xml.Linq;

namespace FlashDeal.Load.Tests;

public sealed class RunReporterTests : IDisposable
{
    private static readonly Dictionary<string, string> Metadata = new()
    {
        ["scenario"] = "spike",
        ["transport"] = "grpc",
        ["target"] = "http://127.0.0.1:50050",
        ["git_commit"] = "0123456789ab",
    };

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "flashdeal-load-tests-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private LoadOptions Options(params string[] thresholds)
    {
        var options = new LoadOptions { OutputDirectory = _directory };
        options.Thresholds.AddRange(thresholds);
        return options;
    }

    [Fact]
    public async Task PassingThresholdsAndInvariantsExitZeroAndPrintEveryTable()
    {
        var console = new StringWriter();

        var exit = await RunReporter.FinishAsync(Synthetic.Result(), [new InvariantResult("no oversell", true, "sold 19 of 19")],
            Options("place_order:errors==0", "p50<2ms"), Metadata, console);

        Assert.Equal(0, exit);
        var text = console.ToString();
        Assert.Contains("scenario=spike", text, StringComparison.Ordinal);
        Assert.Contains("transport=grpc", text, StringComparison.Ordinal);
        Assert.Contains("git_commit=0123456789ab", text, StringComparison.Ordinal);
        Assert.Matches(@"spike\s+2s\s+2\.0s\s+50/s hold\s+96\s+48\s+4", text);
        Assert.Matches(@"place_order\s+spike\s+99\s+49\.5\s+1\.00ms\s+10ms\s+10ms\s+10ms\s+0\s+0\s+19", text);
        Assert.Matches(@"get_order\s+UNAVAILABLE\s+error\s+3", text);
        Assert.Matches(@"place_order\s+SOLD_OUT\s+expected\s+19", text);
        Assert.Matches(@"PASS\s+no oversell\s+sold 19 of 19", text);
        Assert.Matches(@"PASS\s+place_order:errors==0\s+0", text);
        Assert.Contains("Result: PASS", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheCallersGitCommitIsNotDuplicated()
    {
        var console = new StringWriter();
        var metadata = new Dictionary<string, string> { ["git commit"] = "fedcba987654" };

        await RunReporter.FinishAsync(Synthetic.Result(), [], new LoadOptions(), metadata, console);

        Assert.Contains("git commit=fedcba987654", console.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("git_commit", console.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFailedThresholdExitsOne()
    {
        var console = new StringWriter();

        var exit = await RunReporter.FinishAsync(Synthetic.Result(), [new InvariantResult("no oversell", true, "")],
            Options("errors<1%", "p50<2ms"), Metadata, console);

        Assert.Equal(1, exit);
        Assert.Matches(@"FAIL\s+errors<1%\s+2\.5% \(3/120\)", console.ToString());
        Assert.Contains("Result: FAIL (1 failed)", console.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFailedInvariantExitsOne()
    {
        var console = new StringWriter();

        var exit = await RunReporter.FinishAsync(Synthetic.Result(), [new InvariantResult("no oversell", false, "sold 21 of 20")],
            Options(), Metadata, console);

        Assert.Equal(1, exit);
        Assert.Matches(@"FAIL\s+no oversell\s+sold 21 of 20", console.ToString());
    }

    [Fact]
    public async Task AThresholdOnAnOperationThatNeverRanExitsOne()
    {
        var console = new StringWriter();

        var exit = await RunReporter.FinishAsync(Synthetic.Result(), [], Options("refresh:p99<1s"), Metadata, console);

        Assert.Equal(1, exit);
        Assert.Contains("operation 'refresh' never ran", console.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnparseableThresholdIsAnArgumentErrorNamingIt()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() =>
            RunReporter.FinishAsync(Synthetic.Result(), [], Options("p99 under 10ms"), Metadata, new StringWriter()));

        Assert.Contains("'p99 under 10ms'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReportJsonRoundTripsWithStableFieldNames()
    {
        await RunReporter.FinishAsync(Synthetic.Result(), [new InvariantResult("no oversell", true, "ok")],
            Options("p99<100ms"), Metadata, new StringWriter());

        var json = await File.ReadAllTextAsync(Path.Combine(_directory, "report.json"));
        var report = ReportFiles.ReadJson(Path.Combine(_directory, "report.json"))!;
        Assert.Equal(json, JsonSerializer.Serialize(report, ReportFiles.JsonOptions));

        using var document = JsonDocument.Parse(json);
        var root = document.RootElement;
        Assert.Equal("flashdeal-load-report/1", root.GetProperty("schema").GetString());
        Assert.Equal("grpc", root.GetProperty("metadata").GetProperty("transport").GetString());
        Assert.Equal("0123456789ab", root.GetProperty("metadata").GetProperty("git_commit").GetString());
        Assert.True(root.GetProperty("metadata").TryGetProperty("machine", out _));
        Assert.Equal("arrival", root.GetProperty("run").GetProperty("mode").GetString());
        Assert.Equal(4, root.GetProperty("run").GetProperty("dropped").GetInt64());
        Assert.Equal(120, root.GetProperty("total").GetProperty("count").GetInt64());
        var place = root.GetProperty("operations").EnumerateArray().Single(o => o.GetProperty("operation").GetString() == "place_order");
        Assert.Equal(19, place.GetProperty("expectedRefusals").GetInt64());
        Assert.Equal(50, place.GetProperty("maxMs").GetDouble());
        Assert.Equal(2, root.GetProperty("operationsByStage").EnumerateArray()
            .Count(o => o.GetProperty("operation").GetString() == "place_order"));
        Assert.Equal("spike", root.GetProperty("operationsByStage")[0].GetProperty("stage").GetString());
        Assert.Equal(3, root.GetProperty("timeSeries").GetArrayLength());
        Assert.Equal(10_000, root.GetProperty("timeSeries")[0].GetProperty("all").GetProperty("p99Micros").GetInt64());
        Assert.True(root.GetProperty("thresholds")[0].GetProperty("passed").GetBoolean());
        Assert.Equal("no oversell", root.GetProperty("invariants")[0].GetProperty("name").GetString());
        Assert.True(root.GetProperty("passed").GetBoolean());
    }

    [Fact]
    public async Task ReportMarkdownHasTheSameTables()
    {
        await RunReporter.FinishAsync(Synthetic.Result(), [new InvariantResult("no oversell", true, "ok")],
            Options("p99<100ms"), Metadata, new StringWriter());

        var markdown = await File.ReadAllTextAsync(Path.Combine(_directory, "report.md"));
        Assert.StartsWith("## Load run: spike", markdown, StringComparison.Ordinal);
        Assert.Contains("| transport | grpc |", markdown, StringComparison.Ordinal);
        Assert.Contains("| stage | planned | wall | target | started | it/s | dropped |\n|---|---:|---:|---|---:|---:|---:|", markdown,
            StringComparison.Ordinal);
        Assert.Contains("| place_order | spike | 99 | 49.5 | 1.00ms | 10ms | 10ms | 10ms | 0 | 0 | 19 |", markdown,
            StringComparison.Ordinal);
        Assert.Contains("| PASS | p99<100ms | 50ms |  |", markdown, StringComparison.Ordinal);
        Assert.Contains("**Result: PASS**", markdown, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChartIsSvgWithTheSeriesStagesAndAxes()
    {
        await RunReporter.FinishAsync(Synthetic.Result(), [], Options(), Metadata, new StringWriter());

        var svg = XDocument.Load(Path.Combine(_directory, "chart.svg"));
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal(ns + "svg", svg.Root!.Name);
        var series = svg.Descendants(ns + "g").Where(g => (string?)g.Attribute("class") == "series")
            .ToDictionary(g => (string)g.Attribute("data-series")!);
        Assert.Equal(["p50", "p95", "p99", "get_order p99", "place_order p99", "target/s", "calls/s", "iterations started/s", "errors/s",
            "dropped/s"], series.Keys);
        Assert.Single(series["get_order p99"].Elements()); // one second with get_order calls: a dot
        var p99 = series["p99"].Element(ns + "polyline")!.Attribute("points")!.Value.Split(' ');
        Assert.Equal(3, p99.Length); // one point per second
        var texts = svg.Descendants(ns + "text").Select(t => t.Value).ToList();
        Assert.Contains("spike", texts);
        Assert.Contains("sustain", texts);
        Assert.Contains("10ms", texts);   // a latency tick
        Assert.Contains("10s", texts);    // a time tick
        Assert.Contains(texts, t => t.Contains("git_commit 0123456789ab", StringComparison.Ordinal));
        Assert.Equal(4, svg.Descendants(ns + "rect").Count(r => (string?)r.Attribute("class") == "stage"));
    }

    [Fact]
    public async Task AStageWithoutPlannedTimeIsReportedButNotOnTheChart()
    {
        var synthetic = Synthetic.Result();
        var setUp = new OperationStats("login", "log-in");
        setUp.Add(TimeSpan.FromMilliseconds(30), "OK", count: 10);
        var result = new RunResult
        {
            Name = synthetic.Name,
            Elapsed = synthetic.Elapsed,
            Stages = [new StageResult("log-in", 0, 0, false, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.FromSeconds(1), 10, 0), .. synthetic.Stages],
            PerStage = [setUp, .. synthetic.PerStage],
            TimeSeries = synthetic.TimeSeries,
        };
        var console = new StringWriter();

        var exit = await RunReporter.FinishAsync(result, [], Options("login@log-in:p99<50ms"), Metadata, console);

        Assert.Equal(0, exit);
        Assert.Matches(@"login\s+log-in\s+10\s+10\s+30", console.ToString());
        var svg = XDocument.Load(Path.Combine(_directory, "chart.svg"));
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.DoesNotContain("log-in", svg.Descendants(ns + "text").Select(t => t.Value));
        Assert.Equal(4, svg.Descendants(ns + "rect").Count(r => (string?)r.Attribute("class") == "stage"));
    }

    [Fact]
    public async Task ARealRunWritesEveryOutput()
    {
        var options = LoadOptions.Parse(["--stages", "a:600ms:100,b:600ms:200:hold", "--quiet", "--out", _directory,
            "--threshold", "op:p99<1s", "--threshold", "dropped==0"]);
        var result = await LoadRunner.RunAsync(options.ToPlan("demo"), (context, _) =>
        {
            context.Recorder.Record("op", TimeSpan.FromMicroseconds(100 + context.Iteration % 50), "OK");
            return ValueTask.CompletedTask;
        }, options, CancellationToken.None);
        var console = new StringWriter();

        var exit = await RunReporter.FinishAsync(result, [], options, new Dictionary<string, string> { ["transport"] = "none" },
            console);

        Assert.Equal(0, exit);
        Assert.Equal(150, result.IterationsStarted);
        var report = ReportFiles.ReadJson(Path.Combine(_directory, "report.json"))!;
        Assert.Equal(150, report.Total.Count);
        Assert.Equal(["a", "b"], report.Stages.Select(s => s.Name));
        Assert.Equal(result.TimeSeries.Count, report.TimeSeries.Count);
        Assert.NotNull(XDocument.Load(Path.Combine(_directory, "chart.svg")).Root);
        Assert.Contains("| op |", await File.ReadAllTextAsync(Path.Combine(_directory, "report.md")), StringComparison.Ordinal);
    }
}
