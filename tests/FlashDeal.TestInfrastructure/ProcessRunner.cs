using System.Diagnostics;

namespace FlashDeal.TestInfrastructure;

/// <summary>Runs a short-lived command (initdb, pg_ctl) and returns its exit code and combined output.</summary>
internal static class ProcessRunner
{
    public static async Task<(int ExitCode, string Output)> RunAsync(string workingDirectory, TimeSpan timeout,
        string fileName, params IEnumerable<string> arguments)
    {
        using var process = Process.Start(CreateStartInfo(workingDirectory, fileName, arguments))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', arguments)} did not finish within {timeout}.");
        }
        return (process.ExitCode, (await stdout.ConfigureAwait(false)) + (await stderr.ConfigureAwait(false)));
    }

    /// <summary>Blocking variant for Dispose and process-exit handlers.</summary>
    public static int Run(string workingDirectory, TimeSpan timeout, string fileName, params IEnumerable<string> arguments)
    {
        using var process = Process.Start(CreateStartInfo(workingDirectory, fileName, arguments))!;
        process.StandardOutput.ReadToEndAsync();
        process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            return -1;
        }
        return process.ExitCode;
    }

    public static ProcessStartInfo CreateStartInfo(string workingDirectory, string fileName, IEnumerable<string> arguments)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }
        return startInfo;
    }
}
