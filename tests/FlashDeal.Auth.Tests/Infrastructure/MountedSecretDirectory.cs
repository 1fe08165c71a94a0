using System.Runtime.InteropServices;

namespace FlashDeal.Auth.Tests;

/// <summary>
/// A directory laid out and updated the way the kubelet maintains a mounted Secret: the files live in a timestamped
/// folder, "..data" is a symlink to it, and each key is a top-level symlink "name -> ..data/name". An update writes a
/// new folder and swaps "..data" with one rename (atomic), then adds and removes the top-level links.
/// </summary>
public sealed partial class MountedSecretDirectory : IDisposable
{
    private int _version;

    public MountedSecretDirectory() => Path = Directory.CreateTempSubdirectory("flashdeal-signing-keys-").FullName;

    public string Path { get; }

    /// <summary>Replaces the whole content with these files (name → text).</summary>
    public void Write(IReadOnlyDictionary<string, string> files)
    {
        var version = $"..{DateTime.UtcNow:yyyy_MM_dd_HH_mm_ss}.{++_version}";
        var folder = System.IO.Path.Combine(Path, version);
        Directory.CreateDirectory(folder);
        foreach (var (name, text) in files)
        {
            File.WriteAllText(System.IO.Path.Combine(folder, name), text);
        }
        var data = System.IO.Path.Combine(Path, "..data");
        var previous = Directory.Exists(data) ? new DirectoryInfo(data).LinkTarget : null;
        var staged = System.IO.Path.Combine(Path, "..data_tmp");
        File.CreateSymbolicLink(staged, version);
        // rename(2) replaces the old link atomically; File.Move and Directory.Move refuse a link to a directory.
        if (Rename(staged, data) != 0)
        {
            throw new IOException($"rename {staged} -> {data} failed: errno {Marshal.GetLastPInvokeError()}");
        }
        foreach (var name in files.Keys)
        {
            var link = System.IO.Path.Combine(Path, name);
            if (!File.Exists(link))
            {
                File.CreateSymbolicLink(link, System.IO.Path.Combine("..data", name));
            }
        }
        foreach (var link in Directory.GetFiles(Path).Where(f => System.IO.Path.GetFileName(f) is var name
                     && !name.StartsWith("..", StringComparison.Ordinal) && !files.ContainsKey(name)))
        {
            File.Delete(link);
        }
        if (previous is not null)
        {
            Directory.Delete(System.IO.Path.Combine(Path, previous), recursive: true);
        }
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);

    [DllImport("libc", EntryPoint = "rename", SetLastError = true)]
    private static extern int Rename(string oldPath, string newPath);
}
