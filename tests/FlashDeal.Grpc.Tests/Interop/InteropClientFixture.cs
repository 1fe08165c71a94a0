using System.Diagnostics;
using System.Text;
using System.Text.Json;
using FlashDeal.Grpc.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace FlashDeal.Grpc.Tests.Interop;

/// <summary>
/// Starts an Echo server, runs one independent client's script against it once, and keeps the script's JSON line per
/// case plus what the server saw. A missing client fails every test of the class: CI installs them
/// (tests/interop/setup.sh).
/// </summary>
public abstract class InteropClientFixture : IAsyncLifetime
{
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromSeconds(60);
    private readonly Dictionary<string, JsonElement> _results = [];
    private EchoServerHost? _host;

    public InteropCallRecorder Recorder { get; } = new();

    /// <summary>Part of the User-Agent the client sends, proving the calls came from it.</summary>
    public abstract string UserAgentMarker { get; }

    protected static string RepoRoot { get; } = FindRepoRoot();

    protected static string InteropDir => Path.Combine(RepoRoot, "tests", "interop");

    protected abstract ProcessStartInfo CreateClient(Uri grpcAddress);

    protected virtual void ConfigureServer(GrpcServerOptions options)
    {
    }

    public JsonElement Case(string name) =>
        _results.TryGetValue(name, out var result)
            ? result
            : throw new Xunit.Sdk.XunitException($"The client printed no result for case '{name}'.");

    public async Task InitializeAsync()
    {
        _host = await EchoServerHost.StartAsync(ConfigureServer,
            configureBuilder: builder => builder.Services.AddSingleton<IStartupFilter>(Recorder));
        var output = await RunClientAsync(CreateClient(_host.GrpcAddress));
        foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var result = JsonDocument.Parse(line).RootElement;
            _results[result.GetProperty("case").GetString()!] = result;
        }
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    private static async Task<string> RunClientAsync(ProcessStartInfo start)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        start.StandardOutputEncoding = Encoding.UTF8;
        var command = $"{start.FileName} {string.Join(' ', start.ArgumentList)}";
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {command}.");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException(
                $"Interop client '{start.FileName}' is not installed ({e.Message}). Run tests/interop/setup.sh.", e);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(ClientTimeout);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{command} did not finish within {ClientTimeout.TotalSeconds} s.");
            }
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException(
                    $"{command} exited with {process.ExitCode}. Run tests/interop/setup.sh if a dependency is missing.\n" +
                    $"{await stderr}\n{await stdout}");
            }
            return await stdout;
        }
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FlashDeal.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("FlashDeal.sln not found above " + AppContext.BaseDirectory);
    }
}
