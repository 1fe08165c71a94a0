using System.Diagnostics;
using System.Text.RegularExpressions;
using FlashDeal.TestInfrastructure;

namespace FlashDeal.Orders.Tests;

/// <summary>
/// The orders service as a real child process (<c>dotnet FlashDeal.Orders.dll</c>, configured by environment variables),
/// so a test can kill it with SIGKILL the way a node failure would, without any chance to drain or acknowledge.
/// </summary>
public sealed partial class OrdersProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _output = [];

    private OrdersProcess(Process process) => _process = process;

    public Uri GrpcAddress { get; private set; } = null!;

    public int ProcessId => _process.Id;

    public OrderClient Client { get; private set; } = null!;

    public CouponClient Coupons { get; private set; } = null!;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join('\n', _output);
            }
        }
    }

    /// <summary>
    /// A replica that cannot reach PostgreSQL, so every stream entry its consumer takes stays pending, as a crash between
    /// read and acknowledge leaves it; otherwise a normal replica on <paramref name="redis"/> (tokens from
    /// <paramref name="jwks"/>). The killed-replica tests SIGKILL it and count what the survivors claim.
    /// </summary>
    public static Task<OrdersProcess> StartCutOffFromPostgresAsync(string redis, JwksEndpoint jwks) => StartAsync(
        new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] = "Host=127.0.0.1;Port=9;Username=app;Database=none;Timeout=1",
            ["Database__MigrateOnStart"] = "false",
            ["ConnectionStrings__Redis"] = redis,
            ["Auth__Issuer"] = TestTokens.Issuer,
            ["Auth__Audience"] = TestTokens.Audience,
            ["Auth__JwksUrl"] = jwks.Url.ToString(),
            ["Orders__Stream__PollInterval"] = "00:00:00.020",
            ["Orders__Stream__RegistryRefreshInterval"] = "00:00:00.100",
        });

    public static async Task<OrdersProcess> StartAsync(IReadOnlyDictionary<string, string> environment)
    {
        var directory = AppContext.BaseDirectory;
        var start = new ProcessStartInfo("dotnet", [Path.Combine(directory, "FlashDeal.Orders.dll")])
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["Service__BindAddress"] = "127.0.0.1";
        start.Environment["Service__GrpcPort"] = "0";
        start.Environment["Service__RestPort"] = "0";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        start.Environment["RateLimits__Enabled"] = "false";
        start.Environment["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information";
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        var process = new OrdersProcess(Process.Start(start)!);
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (process._output)
            {
                process._output.Add(line);
            }
            // gRPC listens first (Service defaults declare it first), then REST.
            if (ListeningLine().Match(line) is { Success: true } match)
            {
                listening.TrySetResult(new Uri(match.Groups[1].Value));
            }
        }
        process._process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process._process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process._process.BeginOutputReadLine();
        process._process.BeginErrorReadLine();
        try
        {
            process.GrpcAddress = await listening.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            process.Kill();
            throw new InvalidOperationException($"The orders process did not start:\n{process.Output}");
        }
        process.Client = new OrderClient(ServiceTestHost.Channel(process.GrpcAddress), TestTokens.Shared);
        process.Coupons = new CouponClient(process.Client.Channel, TestTokens.Shared);
        return process;
    }

    /// <summary>SIGKILL: no shutdown hooks, no draining, no acknowledgements.</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        Client?.Channel.Dispose();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    [GeneratedRegex(@"Now listening on: (http://[^\s]+)")]
    private static partial Regex ListeningLine();
}
