using System.Diagnostics;

namespace FlashDeal.TestInfrastructure;

/// <summary>
/// Stops a server and deletes its directory when the test host dies without disposing it (crash, kill -9, Ctrl-C).
/// A small shell process waits for end-of-file on a pipe that only this process holds open; the kernel closes the
/// pipe however the host ends, and the shell then runs the cleanup. Disposing runs the same cleanup (it is idempotent).
/// </summary>
internal sealed class CrashCleanup : IDisposable
{
    private readonly Process _shell;

    /// <param name="directory">Deleted last; passed to <paramref name="stopScript"/> as <c>$1</c>.</param>
    /// <param name="stopScript">POSIX sh that stops the server whose files are in <c>$1</c>.</param>
    public CrashCleanup(string directory, string stopScript)
    {
        var script = $"trap '' INT HUP; exec >/dev/null 2>&1; cat; {stopScript}; rm -rf \"$1\"";
        _shell = Process.Start(ProcessRunner.CreateStartInfo(directory, "/bin/sh",
            ["-c", script, "flashdeal-test-cleanup", directory]))!;
    }

    public void Dispose()
    {
        _shell.StandardInput.Close();
        _shell.WaitForExit(TimeSpan.FromSeconds(5));
        _shell.Dispose();
    }
}
