using System.Globalization;
using System.Text;

namespace FlashDeal.Load;

/// <summary>The report as text: the console summary (plain tables) and report.md (the same tables in Markdown).</summary>
public static class ConsoleReport
{
    public static string Render(LoadReport report) => Write(report, markdown: false);

    public static string RenderMarkdown(LoadReport report) => Write(report, markdown: true);

    private static string Write(LoadReport report, bool markdown)
    {
        ArgumentNullException.ThrowIfNull(report);
        var text = new StringBuilder();
        var run = report.Run;
        void Heading(string title) => text.Append(markdown ? $"\n### {title}\n\n" : $"\n{title}\n");
        void Table(TextTable table) => text.Append(markdown ? table.ToMarkdown() : table.ToText());

        text.Append(markdown ? $"## Load run: {run.Name}\n\n" : $"Load run: {run.Name}\n");
        var metadata = new TextTable("key", "value");
        foreach (var (key, value) in report.Metadata)
        {
            metadata.Add(key, value);
        }
        if (markdown)
        {
            Table(metadata);
            text.Append('\n');
        }
        else
        {
            text.Append("  ").AppendJoin("  ", report.Metadata.Select(p => $"{p.Key}={p.Value}")).Append('\n');
        }
        text.Append(Invariant(
            $"{(markdown ? "" : "  ")}{run.Mode} mode, {run.ElapsedSeconds:0.0}s, stopped by {run.StoppedBy}; iterations: {run.IterationsStarted} started, {run.IterationsCompleted} completed, {run.Dropped} dropped, {run.Abandoned} abandoned; peak in flight {run.PeakInFlight} of {run.MaxInFlight}\n"));

        Heading("Stages");
        var unit = run.Mode == "arrival" ? "/s" : " VUs";
        var stages = new TextTable("stage", ">planned", ">wall", "target", ">started", ">it/s", ">dropped");
        foreach (var s in report.Stages)
        {
            var target = s.Ramp && s.FromTarget != s.Target
                ? Invariant($"{s.FromTarget:0.#}→{s.Target:0.#}{unit}")
                : Invariant($"{s.Target:0.#}{unit} hold");
            stages.Add(s.Name, Invariant($"{s.PlannedSeconds:0.###}s"), Invariant($"{s.WallSeconds:0.0}s"), target,
                Count(s.IterationsStarted), Invariant($"{s.IterationsPerSecond:0.#}"), Count(s.Dropped));
        }
        Table(stages);

        Heading("Operations");
        var operations = new TextTable("operation", "stage", ">count", ">rate/s", ">p50", ">p95", ">p99", ">max", ">errors",
            ">error %", ">expected");
        void Row(ReportOperation o, string stage) => operations.Add(o.Operation, stage, Count(o.Count),
            Invariant($"{o.RatePerSecond:0.#}"), Ms(o.P50Ms), Ms(o.P95Ms), Ms(o.P99Ms), Ms(o.MaxMs), Count(o.Errors),
            Invariant($"{o.ErrorPercent:0.##}"), Count(o.ExpectedRefusals));
        foreach (var whole in report.Operations)
        {
            foreach (var perStage in report.OperationsByStage.Where(o => o.Operation == whole.Operation))
            {
                Row(perStage, perStage.Stage ?? "");
            }
            Row(whole, "(all)");
        }
        if (report.Operations.Count > 1)
        {
            Row(report.Total with { Operation = "ALL" }, "(all)");
        }
        if (operations.Count == 0)
        {
            text.Append(markdown ? "No calls were recorded.\n" : "  no calls were recorded\n");
        }
        else
        {
            Table(operations);
        }

        var refusals = report.Operations.SelectMany(o => o.Outcomes.Where(c => c.Outcome != OperationStats.Ok)
            .Select(c => (o.Operation, c))).ToList();
        if (refusals.Count > 0)
        {
            Heading("Errors and refusals by reason");
            var reasons = new TextTable("operation", "outcome", "kind", ">count");
            foreach (var (operation, outcome) in refusals)
            {
                reasons.Add(operation, outcome.Outcome, outcome.Expected ? "expected" : "error", Count(outcome.Count));
            }
            Table(reasons);
        }

        if (report.Cpu is { } cpu)
        {
            var per = cpu.Operation == "*" ? "call" : cpu.Operation + " call";
            Heading(Invariant($"CPU budget: {cpu.BusyCores:0.##} of {cpu.MachineCores} cores busy over {cpu.WallSeconds:0.#}s, {cpu.MicrosPerCall:0} us of CPU per {per} ({cpu.Calls} calls)"));
            var budget = new TextTable("process", ">cpu s", ">cores", ">us/call", ">share");
            var total = cpu.Processes.Sum(p => p.CpuSeconds);
            foreach (var p in cpu.Processes)
            {
                budget.Add(p.Process, Invariant($"{p.CpuSeconds:0.00}"), Invariant($"{p.Cores:0.00}"), Invariant($"{p.MicrosPerCall:0.0}"),
                    Invariant($"{(total > 0 ? 100 * p.CpuSeconds / total : 0):0}%"));
            }
            Table(budget);
        }

        if (report.Stress is { } stress)
        {
            Heading($"Stress steps (break when {string.Join(" or ", stress.BreakWhen)})");
            var steps = new TextTable("step", ">target", ">calls", ">calls/s", ">p95", ">p99", ">error %", "verdict");
            foreach (var s in stress.Steps)
            {
                steps.Add(s.Stage, Invariant($"{s.Target:0.#}{unit}"), Count(s.Calls), Invariant($"{s.RatePerSecond:0.#}"),
                    Ms(s.P95Ms), Ms(s.P99Ms), Invariant($"{s.ErrorPercent:0.##}"), s.Detail);
            }
            Table(steps);
            text.Append(markdown ? "\n" : "  ").Append(StressAnalysis.Describe(stress, unit)).Append('\n');
        }

        if (report.Soak is { } soak)
        {
            Heading($"Soak windows ({soak.WindowSeconds}s)");
            var processes = soak.Windows.Where(w => w.MemoryBytes is not null).SelectMany(w => w.MemoryBytes!.Keys)
                .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            var windows = new TextTable([
                "window", "seconds", ">calls", ">calls/s", ">p50", ">p95", ">p99", ">error %",
                .. processes.Select(p => ">" + p + " MiB")]);
            foreach (var w in soak.Windows)
            {
                windows.Add([
                    Invariant($"{w.Index}{(w.Complete ? "" : " (partial)")}"), Invariant($"{w.FromSecond}-{w.ToSecond}"),
                    Count(w.Calls), Invariant($"{w.RatePerSecond:0.#}"), Ms(w.P50Ms), Ms(w.P95Ms), Ms(w.P99Ms),
                    Invariant($"{w.ErrorPercent:0.##}"),
                    .. processes.Select(p => w.MemoryBytes?.TryGetValue(p, out var b) == true ? Invariant($"{b / 1048576.0:0.#}") : "-")]);
            }
            Table(windows);
            var d = soak.Drift;
            text.Append(markdown ? "\n" : "  ").Append(d.Problem is not null
                ? $"drift: {d.Problem}"
                : Invariant($"drift (window {d.LastWindow} vs {d.FirstWindow}): p50 {d.P50Ratio:0.##}x, p95 {d.P95Ratio:0.##}x, p99 {d.P99Ratio:0.##}x, throughput {d.RateRatio:0.##}x, errors {d.FirstErrorPercent:0.##}% → {d.LastErrorPercent:0.##}%")
                  + (d.WorstMemory is { } m ? Invariant($", memory {m.GrowthPercent:+0.#;-0.#;0}% ({m.Process}, the most)") : ""))
                .Append('\n');
        }

        if (report.Invariants.Count > 0)
        {
            Heading("Invariants");
            var invariants = new TextTable("result", "invariant", "detail");
            foreach (var i in report.Invariants)
            {
                invariants.Add(i.Passed ? "PASS" : "FAIL", i.Name, i.Detail);
            }
            Table(invariants);
        }

        if (report.Thresholds.Count > 0)
        {
            Heading("Thresholds");
            var thresholds = new TextTable("result", "threshold", "actual", "detail");
            foreach (var t in report.Thresholds)
            {
                thresholds.Add(t.Passed ? "PASS" : "FAIL", t.Expression, t.Actual, t.Detail ?? "");
            }
            Table(thresholds);
        }

        var failed = report.Invariants.Count(i => !i.Passed) + report.Thresholds.Count(t => !t.Passed);
        text.Append(markdown ? "\n" : "\n").Append(report.Passed
            ? "**Result: PASS**\n".Replace("**", markdown ? "**" : "", StringComparison.Ordinal)
            : Invariant($"{(markdown ? "**" : "")}Result: FAIL ({failed} failed){(markdown ? "**" : "")}\n"));
        return text.ToString();
    }

    private static string Count(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Ms(double ms) => LoadReport.FormatMicros(ms * 1_000);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
