using System.Diagnostics;
using System.Globalization;
using Xunit;

namespace FlashDeal.TestInfrastructure;

/// <summary>
/// A real redis-server on a free loopback port without persistence. Use it as a collection fixture; call
/// <see cref="FlushAllAsync"/> to start a test class from an empty server. <see cref="StopAsync"/> (a crash: SIGKILL),
/// <see cref="StartAsync"/> and <see cref="PauseAsync"/> simulate outages; the port survives a restart, the data does not.
/// </summary>
public sealed class RedisServer : IAsyncLifetime, IDisposable
{
    public const string Host = "127.0.0.1";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(10);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private string? _executable;
    private string? _directory;
    private CrashCleanup? _crashCleanup;
    private Process? _process;
    private int _disposed;

    public RedisServer() => AppDomain.CurrentDomain.ProcessExit += OnProcessExit;

    public int Port { get; private set; }

    /// <summary>More redis-server options, e.g. <c>--replicaof 127.0.0.1 6379</c> for a replica (RedisSentinelSet).</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    public bool IsRunning => _process is { HasExited: false };

    /// <summary>Holds the log and the pid file.</summary>
    public string Directory => _directory ?? throw new InvalidOperationException("The server has not been started.");

    public string LogFile => Path.Combine(Directory, "redis.log");

    /// <summary>StackExchange.Redis syntax; add options after a comma.</summary>
    public string ConnectionString => $"{Host}:{Port}";

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed == 1, this);
            if (IsRunning)
            {
                return;
            }
            if (_directory is null)
            {
                _executable = ServerBinaries.FindRedisServer();
                _directory = ScratchDirectory.Create("flashdeal-redis");
                _crashCleanup = new CrashCleanup(_directory, """[ -f "$1/redis.pid" ] && kill -KILL "$(cat "$1/redis.pid")" """);
            }
            var firstStart = Port == 0;
            for (var attempt = 1; ; attempt++)
            {
                if (firstStart)
                {
                    Port = FreePort.Next();
                }
                if (await TryStartProcessAsync(cancellationToken).ConfigureAwait(false))
                {
                    return;
                }
                var log = File.Exists(LogFile) ? await File.ReadAllTextAsync(LogFile, cancellationToken).ConfigureAwait(false) : "";
                if (!(firstStart && attempt < 5 && log.Contains("Address already in use", StringComparison.Ordinal)))
                {
                    throw new InvalidOperationException($"redis-server did not start on port {Port}:\n{log}");
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Kills the server the way a crash would; clients see their connections drop.</summary>
    public async Task StopAsync()
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            await KillAsync().ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>SIGSTOP: the process freezes with its connections open (a replica stops acknowledging); see ResumeAsync.</summary>
    public Task SuspendAsync() => SignalAsync("-STOP");

    /// <summary>SIGCONT after <see cref="SuspendAsync"/>.</summary>
    public Task ResumeAsync() => SignalAsync("-CONT");

    private async Task SignalAsync(string signal)
    {
        var pid = _process?.Id ?? throw new InvalidOperationException("The server is not running.");
        var (exitCode, output) = await ProcessRunner.RunAsync(Directory, TimeSpan.FromSeconds(10), "kill", signal,
            pid.ToString(CultureInfo.InvariantCulture)).ConfigureAwait(false);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"kill {signal} {pid}: {output}");
        }
    }

    /// <summary>CLIENT PAUSE ALL: the server keeps connections open but answers nothing until the time is up.</summary>
    public Task PauseAsync(TimeSpan duration) =>
        ExecuteAsync("CLIENT", "PAUSE", ((long)duration.TotalMilliseconds).ToString(CultureInfo.InvariantCulture), "ALL");

    public Task FlushAllAsync() => ExecuteAsync("FLUSHALL");

    /// <summary>Runs one command on a fresh connection; the reply as text, array elements one per line.</summary>
    public async Task<string> ExecuteAsync(params string[] command)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return await RespClient.ExecuteAsync(Port, command, timeout.Token).ConfigureAwait(false);
    }

    Task IAsyncLifetime.InitializeAsync() => StartAsync();

    Task IAsyncLifetime.DisposeAsync()
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        if (_process is not null)
        {
            _process.Kill();
            _process.WaitForExit(TimeSpan.FromSeconds(5));
            _process.Dispose();
        }
        if (_directory is not null)
        {
            ScratchDirectory.Delete(_directory);
        }
        _crashCleanup?.Dispose();
    }

    private async Task<bool> TryStartProcessAsync(CancellationToken cancellationToken)
    {
        var process = Process.Start(ProcessRunner.CreateStartInfo(Directory, _executable!,
        [
            "--port", Port.ToString(CultureInfo.InvariantCulture), "--bind", Host, "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--dir", Directory, "--pidfile", Path.Combine(Directory, "redis.pid"), "--logfile", LogFile,
            .. Arguments,
        ]))!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < StartTimeout)
        {
            if (process.HasExited)
            {
                return false;
            }
            try
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                attempt.CancelAfter(TimeSpan.FromSeconds(1));
                if (await RespClient.ExecuteAsync(Port, ["PING"], attempt.Token).ConfigureAwait(false) == "PONG")
                {
                    return true;
                }
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException
                                          or InvalidOperationException)
            {
                // Not listening yet (or still loading).
            }
            await Task.Delay(10, cancellationToken).ConfigureAwait(false);
        }
        await KillAsync().ConfigureAwait(false);
        throw new TimeoutException($"redis-server did not answer PING on port {Port} within {StartTimeout}.");
    }

    private async Task KillAsync()
    {
        if (_process is null)
        {
            return;
        }
        if (!_process.HasExited)
        {
            _process.Kill();
        }
        await _process.WaitForExitAsync().ConfigureAwait(false);
        _process.Dispose();
        _process = null;
        File.Delete(Path.Combine(Directory, "redis.pid"));
    }

    private void OnProcessExit(object? sender, EventArgs e) => Dispose();
}
