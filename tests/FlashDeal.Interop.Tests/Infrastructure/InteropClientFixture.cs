using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace FlashDeal.Interop.Tests.Infrastructure;

/// <summary>
/// Runs one independent client's script once against the <see cref="InteropMesh"/> and keeps its JSON line per case.
/// The script gets a JSON file with the endpoints, the schema file, the seeded ids and the customer's token. A missing
/// client, a crash or a hang fails every test of the class with the script's output: CI installs the clients
/// (tests/interop/setup.sh), nothing is skipped.
/// </summary>
public abstract class InteropClientFixture(InteropMesh mesh) : IAsyncLifetime
{
    /// <summary>Bounds the whole script; every call in it has its own, shorter deadline.</summary>
    private static readonly TimeSpan ClientTimeout = TimeSpan.FromMinutes(3);

    /// <summary>The deadline of the deadline case: the server must see a grpc-timeout no larger.</summary>
    public static readonly TimeSpan ShortDeadline = TimeSpan.FromSeconds(1);

    private readonly Dictionary<string, JsonElement> _results = [];
    private string _output = "";

    public InteropMesh Mesh => mesh;

    /// <summary>The client's name in <c>x-interop-case</c> tags and <c>x-request-id: interop-&lt;client&gt;</c>.</summary>
    public abstract string Client { get; }

    /// <summary>What every User-Agent the client sends contains.</summary>
    public abstract IReadOnlyList<string> UserAgentMarkers { get; }

    /// <summary>
    /// How far above the deadline the client's grpc-timeout may be: clients round it up to the unit they write (1 ms
    /// for grpc-js, 1 µs for buf).
    /// </summary>
    public virtual TimeSpan TimeoutRounding => TimeSpan.FromMilliseconds(1);

    public IReadOnlyList<RecordedCall> Calls => mesh.Recorder.For(Client);

    public IReadOnlyList<RecordedCall> CallsOf(string interopCase) => mesh.Recorder.For(Client, interopCase);

    protected static string RepoRoot { get; } = FindRepoRoot();

    protected static string InteropDir => Path.Combine(RepoRoot, "tests", "interop");

    /// <summary>The script to run with its configuration file; throws "run setup.sh" when the client is missing.</summary>
    protected abstract ProcessStartInfo CreateClient(string configFile);

    public JsonElement Case(string name) =>
        _results.TryGetValue(name, out var result)
            ? result
            : throw new Xunit.Sdk.XunitException($"The client printed no result for case '{name}'. Its output:\n{_output}");

    public async Task InitializeAsync()
    {
        var configFile = Path.Combine(mesh.WorkDirectory, $"{Client}.json");
        await File.WriteAllTextAsync(configFile, JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["client"] = Client,
            ["auth"] = HostPort(mesh.Auth.GrpcAddress),
            ["catalog"] = HostPort(mesh.Catalog.GrpcAddress),
            ["orders"] = HostPort(mesh.Orders.GrpcAddress),
            ["schema"] = mesh.SchemaFile,
            ["live_deal_id"] = mesh.LiveDeal.DealId,
            ["upcoming_deal_id"] = mesh.UpcomingDeal.DealId,
            ["sold_out_deal_id"] = mesh.SoldOutDeal.DealId,
            ["access_token"] = mesh.CustomerToken,
            ["product_query"] = InteropMesh.ProductQuery,
            ["short_deadline_ms"] = (int)ShortDeadline.TotalMilliseconds,
        }));
        _output = await RunAsync(CreateClient(configFile));
        foreach (var line in _output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            try
            {
                var result = JsonDocument.Parse(line).RootElement;
                _results[result.GetProperty("case").GetString()!] = result;
            }
            catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
            {
                throw new InvalidOperationException(
                    $"The client printed a line that is not a case result: {line}\n{_output}", e);
            }
        }
    }

    public Task DisposeAsync() => Task.CompletedTask;

    protected static ProcessStartInfo Node(string script, string configFile, string requiredModule)
    {
        var dir = Path.Combine(InteropDir, "node");
        if (!Directory.Exists(Path.Combine(dir, "node_modules", requiredModule)))
        {
            throw new InvalidOperationException(
                $"{dir}/node_modules lacks {requiredModule}: the clients are not installed. Run tests/interop/setup.sh.");
        }
        return new ProcessStartInfo("node") { WorkingDirectory = dir, ArgumentList = { script, configFile } };
    }

    private static string HostPort(Uri address) => $"{address.Host}:{address.Port}";

    private static async Task<string> RunAsync(ProcessStartInfo start)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        start.StandardOutputEncoding = Encoding.UTF8;
        start.StandardErrorEncoding = Encoding.UTF8;
        var command = $"{start.FileName} {string.Join(' ', start.ArgumentList)}";
        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {command}.");
        }
        catch (Win32Exception e)
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
                await process.WaitForExitAsync();
                throw new TimeoutException(
                    $"{command} did not finish within {ClientTimeout.TotalSeconds} s and was killed.\n" +
                    $"stderr:\n{await stderr}\nstdout:\n{await stdout}");
            }
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException(
                    $"{command} exited with {process.ExitCode}. Run tests/interop/setup.sh if a dependency is missing.\n" +
                    $"stderr:\n{await stderr}\nstdout:\n{await stdout}");
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
