using System.Globalization;

namespace FlashDeal.LoadTool.Cli;

/// <summary>
/// Resident memory (VmRSS of /proc/&lt;pid&gt;/status) of the load tool and of the local mesh's processes (the same pid
/// files the CPU budget reads): what a soak window records. A process that is gone or unreadable is left out of that
/// window. Linux only; elsewhere the windows carry no memory.
/// </summary>
public static class MemoryProbe
{
    public static Func<IReadOnlyDictionary<string, long>>? Create(IEnumerable<(string Name, int Pid)> processes)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }
        var list = processes.Prepend(("load tool", Environment.ProcessId)).ToList();
        return () =>
        {
            var sample = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var (name, pid) in list)
            {
                if (TryRead(pid) is { } bytes)
                {
                    sample[name] = bytes;
                }
            }
            return sample;
        };
    }

    /// <summary>VmRSS in bytes, or null when the process is gone.</summary>
    public static long? TryRead(int pid)
    {
        try
        {
            return Parse(File.ReadAllText($"/proc/{pid}/status"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>"VmRSS:	  123456 kB" → bytes; null when the line is missing (a kernel thread, a zombie).</summary>
    public static long? Parse(string status)
    {
        ArgumentNullException.ThrowIfNull(status);
        foreach (var line in status.Split('\n'))
        {
            if (!line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                continue;
            }
            var fields = line["VmRSS:".Length..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            return fields.Length == 2 && fields[1] == "kB" && long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var kib)
                ? kib * 1024
                : null;
        }
        return null;
    }
}
