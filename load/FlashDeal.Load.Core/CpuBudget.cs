using System.Diagnostics;
using System.Globalization;

namespace FlashDeal.Load;

/// <summary>One process (with every process it started: nginx's workers, PostgreSQL's backends) in the CPU budget.</summary>
/// <param name="CpuSeconds">User + system CPU it used while the stages ran.</param>
/// <param name="Cores">That CPU over the wall time: 1.0 is one core kept busy the whole run.</param>
/// <param name="MicrosPerCall">CPU microseconds per call of the budget's operation.</param>
public sealed record CpuShare(string Process, double CpuSeconds, double Cores, double MicrosPerCall);

/// <summary>Where the CPU went while the stages ran, per call of one operation (place_order for a spike): the load tool,
/// each process of the local mesh, and the rest of the machine's busy time (the kernel's own work, other programs).</summary>
/// <param name="Operation">The calls the budget is divided by ("*" = every call).</param>
/// <param name="MachineCores">Cores of the machine; <see cref="BusyCores"/> of them were busy on average.</param>
public sealed record ReportCpu(string Operation, long Calls, double WallSeconds, int MachineCores, double BusyCores,
    double MicrosPerCall, IReadOnlyList<CpuShare> Processes);

/// <summary>
/// Samples CPU time from /proc at the start and the end of the measured stages: per named process tree, the load tool
/// itself, and the whole machine (/proc/stat). Linux only; elsewhere <see cref="TryStart"/> returns null and reports carry
/// no budget. Reading /proc twice costs nothing the budget would see.
/// </summary>
public sealed class CpuBudget
{
    /// <summary>USER_HZ: /proc reports CPU in these ticks on every Linux architecture .NET runs on.</summary>
    private const double TicksPerSecond = 100;

    private readonly IReadOnlyList<(string Name, int Pid)> _processes;
    private readonly Dictionary<string, double> _start;
    private readonly (double Busy, double All) _machineStart;
    private readonly long _startedAt;
    private readonly TimeSpan _selfStart;

    private CpuBudget(IReadOnlyList<(string Name, int Pid)> processes)
    {
        _processes = processes;
        _startedAt = Stopwatch.GetTimestamp();
        _selfStart = Process.GetCurrentProcess().TotalProcessorTime;
        _machineStart = MachineTicks();
        _start = Sample();
    }

    /// <summary>Starts a budget over these processes (name → root pid); null when /proc is not there.</summary>
    public static CpuBudget? TryStart(IEnumerable<(string Name, int Pid)> processes)
    {
        ArgumentNullException.ThrowIfNull(processes);
        return File.Exists("/proc/stat") ? new CpuBudget([.. processes]) : null;
    }

    /// <summary>The local mesh's processes: every run/NAME.pid file beside mesh.env (a pid per file).</summary>
    public static IEnumerable<(string Name, int Pid)> FromPidFolder(string folder)
    {
        if (!Directory.Exists(folder))
        {
            yield break;
        }
        foreach (var file in Directory.EnumerateFiles(folder, "*.pid").Order(StringComparer.Ordinal))
        {
            if (int.TryParse(File.ReadAllText(file).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                yield return (Path.GetFileNameWithoutExtension(file), pid);
            }
        }
    }

    /// <summary>Parses "name=pid,name=pid" (the --cpu-processes option).</summary>
    public static IReadOnlyList<(string Name, int Pid)> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        List<(string, int)> processes = [];
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = part.IndexOf('=');
            if (equals <= 0 || !int.TryParse(part[(equals + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid <= 0)
            {
                throw new FormatException($"'{part}' is not name=pid");
            }
            processes.Add((part[..equals], pid));
        }
        return processes;
    }

    /// <summary>Ends the budget: CPU since the start, divided by <paramref name="calls"/> of <paramref name="operation"/>.</summary>
    public ReportCpu Stop(string operation, long calls)
    {
        var end = Sample();
        var machineEnd = MachineTicks();
        var wall = Stopwatch.GetElapsedTime(_startedAt).TotalSeconds;
        var cores = Environment.ProcessorCount;
        double PerCall(double seconds) => calls > 0 ? Math.Round(seconds * 1e6 / calls, 1) : 0;
        CpuShare Share(string name, double seconds) =>
            new(name, LoadReport.Round(seconds), wall > 0 ? Math.Round(seconds / wall, 2) : 0, PerCall(seconds));

        List<CpuShare> shares = [Share("load tool", (Process.GetCurrentProcess().TotalProcessorTime - _selfStart).TotalSeconds)];
        foreach (var (name, _) in _processes)
        {
            if (_start.TryGetValue(name, out var before) && end.TryGetValue(name, out var after))
            {
                shares.Add(Share(name, Math.Max(0, after - before)));
            }
        }
        // /proc/stat counts every core: busy ticks over all ticks is the machine's load, in cores.
        var allTicks = machineEnd.All - _machineStart.All;
        var busyCores = allTicks > 0 ? (machineEnd.Busy - _machineStart.Busy) / allTicks * cores : 0;
        var listed = shares.Sum(s => s.CpuSeconds);
        shares.Add(Share("rest of the machine", Math.Max(0, busyCores * wall - listed)));
        return new ReportCpu(operation, calls, LoadReport.Round(wall), cores, Math.Round(busyCores, 2),
            PerCall(shares.Sum(s => s.CpuSeconds)), shares);
    }

    /// <summary>CPU seconds of each named process and all its descendants, read now.</summary>
    private Dictionary<string, double> Sample()
    {
        var stats = ReadAllStats();
        var children = stats.Values.ToLookup(s => s.ParentPid, s => s.Pid);
        Dictionary<string, double> seconds = new(StringComparer.Ordinal);
        foreach (var (name, root) in _processes)
        {
            if (!stats.ContainsKey(root))
            {
                continue; // gone (or never there): left out of the budget rather than counted as zero
            }
            double ticks = 0;
            Stack<int> pending = new([root]);
            HashSet<int> seen = [];
            while (pending.TryPop(out var pid))
            {
                if (!seen.Add(pid) || !stats.TryGetValue(pid, out var stat))
                {
                    continue;
                }
                ticks += stat.Ticks;
                foreach (var child in children[pid])
                {
                    pending.Push(child);
                }
            }
            seconds[name] = ticks / TicksPerSecond;
        }
        return seconds;
    }

    private readonly record struct ProcStat(int Pid, int ParentPid, long Ticks);

    private static Dictionary<int, ProcStat> ReadAllStats()
    {
        Dictionary<int, ProcStat> stats = [];
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }
            string text;
            try
            {
                text = File.ReadAllText(Path.Combine(dir, "stat"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue; // exited between the listing and the read
            }
            if (ParseStat(pid, text) is { } stat)
            {
                stats[pid] = stat;
            }
        }
        return stats;
    }

    /// <summary>/proc/PID/stat: "pid (comm) state ppid ... utime(14) stime(15) ...". comm may hold spaces and ')'.</summary>
    private static ProcStat? ParseStat(int pid, string text)
    {
        var close = text.LastIndexOf(')');
        if (close < 0)
        {
            return null;
        }
        var fields = text[(close + 2)..].Split(' ');
        // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
        if (fields.Length < 13 || !int.TryParse(fields[1], CultureInfo.InvariantCulture, out var parent) ||
            !long.TryParse(fields[11], CultureInfo.InvariantCulture, out var user) ||
            !long.TryParse(fields[12], CultureInfo.InvariantCulture, out var system))
        {
            return null;
        }
        return new ProcStat(pid, parent, user + system);
    }

    /// <summary>The "cpu" line of /proc/stat: busy ticks (all but idle and iowait) and all ticks, over every core.</summary>
    private static (double Busy, double All) MachineTicks()
    {
        using var reader = new StreamReader("/proc/stat");
        var line = reader.ReadLine() ?? "";
        var values = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Take(8)
            .Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        if (values.Length < 5)
        {
            return (0, 0);
        }
        var all = values.Sum();
        return (all - values[3] - values[4], all);
    }
}
