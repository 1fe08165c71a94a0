using System.Diagnostics;
using System.Text.Json;

namespace FlashDeal.Load.Tests;

public sealed class CpuBudgetTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "flashdeal-cpu-tests-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public void ParsesNamePidPairsAndRefusesAnythingElse()
    {
        Assert.Equal([("edge", 12), ("orders-1", 345)], CpuBudget.Parse("edge=12, orders-1=345"));
        Assert.Throws<FormatException>(() => CpuBudget.Parse("edge"));
        Assert.Throws<FormatException>(() => CpuBudget.Parse("=12"));
        Assert.Throws<FormatException>(() => CpuBudget.Parse("edge=-1"));
        Assert.Throws<FormatException>(() => CpuBudget.Parse("edge=x"));
    }

    [Fact]
    public void ReadsTheMeshPidFilesByName()
    {
        Directory.CreateDirectory(_directory);
        File.WriteAllText(Path.Combine(_directory, "orders-1.pid"), "4321\n");
        File.WriteAllText(Path.Combine(_directory, "edge.pid"), "1234");
        File.WriteAllText(Path.Combine(_directory, "broken.pid"), "not a pid");
        File.WriteAllText(Path.Combine(_directory, "mesh.ports"), "8080");

        Assert.Equal([("edge", 1234), ("orders-1", 4321)], CpuBudget.FromPidFolder(_directory));
        Assert.Empty(CpuBudget.FromPidFolder(Path.Combine(_directory, "missing")));
    }

    /// <summary>A shell that keeps one child busy: the budget must count the child's CPU under the parent's name, and
    /// divide it by the calls.</summary>
    [Fact]
    public void CountsAProcessTreeAndDividesByTheCalls()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // /proc: the budget is Linux only, and CI is Linux
        }
        using var shell = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", "timeout 5 sh -c 'while :; do :; done' & wait"])
        {
            RedirectStandardOutput = true,
        })!;
        try
        {
            Thread.Sleep(200); // the child is running
            var budget = CpuBudget.TryStart([("busy", shell.Id), ("gone", int.MaxValue)])!;
            var spin = Stopwatch.StartNew();
            while (spin.Elapsed < TimeSpan.FromSeconds(1.5))
            {
                Thread.Sleep(100);
            }
            var report = budget.Stop("place_order", 1_000);

            var busy = Assert.Single(report.Processes, p => p.Process == "busy");
            // A busy loop for ~1.5 s: well over 0.2 s of CPU even on a loaded 2-core machine, never more than the wall time
            // times the cores.
            Assert.InRange(busy.CpuSeconds, 0.2, report.WallSeconds * Environment.ProcessorCount + 0.1);
            Assert.Equal(Math.Round(busy.CpuSeconds * 1e6 / 1_000, 1), busy.MicrosPerCall, 0.2);
            Assert.DoesNotContain(report.Processes, p => p.Process == "gone"); // absent processes are left out, not zero
            Assert.Contains(report.Processes, p => p.Process == "load tool");
            Assert.Contains(report.Processes, p => p.Process == "rest of the machine");
            Assert.Equal(1_000, report.Calls);
            Assert.InRange(report.BusyCores, 0.1, Environment.ProcessorCount);
        }
        finally
        {
            shell.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public void TheReportCarriesTheBudgetInJsonAndTheConsoleTable()
    {
        var cpu = new ReportCpu("place_order", 2_000, 10, 2, 1.9, 950,
            [new CpuShare("load tool", 0.4, 0.04, 200), new CpuShare("edge", 0.2, 0.02, 100), new CpuShare("orders-1", 1.3, 0.13, 650)]);
        var report = LoadReport.Build(Synthetic.Result(), [], [], new Dictionary<string, string>()) with { Cpu = cpu };

        var text = ConsoleReport.Render(report);
        Assert.Contains("CPU budget: 1.9 of 2 cores busy over 10s, 950 us of CPU per place_order call (2000 calls)", text, StringComparison.Ordinal);
        Assert.Matches(@"orders-1\s+1\.30\s+0\.13\s+650\.0\s+68%", text);
        using var json = JsonDocument.Parse(JsonSerializer.Serialize(report, ReportFiles.JsonOptions));
        Assert.Equal(650, json.RootElement.GetProperty("cpu").GetProperty("processes")[2].GetProperty("microsPerCall").GetDouble());

        var without = LoadReport.Build(Synthetic.Result(), [], [], new Dictionary<string, string>());
        Assert.DoesNotContain("CPU budget", ConsoleReport.Render(without), StringComparison.Ordinal);
        using var plain = JsonDocument.Parse(JsonSerializer.Serialize(without, ReportFiles.JsonOptions));
        Assert.False(plain.RootElement.TryGetProperty("cpu", out _));
    }
}
