namespace FlashDeal.TestInfrastructure;

internal static class ScratchDirectory
{
    /// <summary>
    /// tmpfs when the machine has a roomy one: server files in RAM are several times faster than a disk that parallel
    /// builds keep busy, and nothing here must survive the run. Containers often get a 64 MB /dev/shm: too small.
    /// </summary>
    public static string Root { get; } = IsRoomyWritableDirectory("/dev/shm") ? "/dev/shm" : Path.GetTempPath();

    public static string Create(string prefix)
    {
        var path = NewPath(prefix);
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>Names carry the owning process id, so a stray directory can be traced to its test host.</summary>
    public static string NewPath(string prefix) =>
        Path.Combine(Root, $"{prefix}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");

    public static void Delete(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    private static bool IsRoomyWritableDirectory(string path)
    {
        try
        {
            if (!Directory.Exists(path) || new DriveInfo(path).AvailableFreeSpace < 1L << 30)
            {
                return false;
            }
            var probe = Path.Combine(path, $".flashdeal-probe-{Guid.NewGuid():N}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
