using System.Diagnostics;
using System.Globalization;
using Xunit;

namespace FlashDeal.TestInfrastructure;

/// <summary>
/// Redis the way Sentinel runs it: a primary, one replica (or <see cref="Replicas"/>) and three Sentinels watching them under
/// <see cref="ServiceName"/> (quorum 2; a server is down after <see cref="DownAfter"/> without an answer), all real
/// processes on free loopback ports. Clients connect through the Sentinels (<see cref="ConnectionString"/>).
/// <see cref="KillPrimaryAsync"/> crashes whichever server is primary now; <see cref="WaitForNewPrimaryAsync"/> waits
/// until the Sentinels have promoted another. Use it as a class fixture: a failover changes the set for later tests.
/// </summary>
public sealed class RedisSentinelSet : IAsyncLifetime, IDisposable
{
    public const string ServiceName = "flashdeal";

    public static readonly TimeSpan DownAfter = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);
    private readonly List<RedisServer> _servers = [];
    private readonly List<Sentinel> _sentinels = [];
    private int _disposed;

    /// <summary>The data servers (the first started as primary, the others as its replicas; roles move on failover).</summary>
    public IReadOnlyList<RedisServer> Servers => _servers;

    /// <summary>How many replicas the primary starts with (two let Replica durability survive a failover).</summary>
    public int Replicas { get; init; } = 1;

    public IReadOnlyList<int> SentinelPorts => _sentinels.Select(s => s.Port).ToArray();

    /// <summary>StackExchange.Redis syntax: every Sentinel and the service name; the client asks them for the primary.</summary>
    public string ConnectionString =>
        string.Join(",", _sentinels.Select(s => $"{RedisServer.Host}:{s.Port}")) + $",serviceName={ServiceName}";

    public async Task InitializeAsync()
    {
        var primary = new RedisServer();
        _servers.Add(primary);
        await primary.StartAsync().ConfigureAwait(false);
        for (var i = 0; i < Replicas; i++)
        {
            var replica = new RedisServer
            {
                Arguments = ["--replicaof", RedisServer.Host, primary.Port.ToString(CultureInfo.InvariantCulture)],
            };
            _servers.Add(replica);
            await replica.StartAsync().ConfigureAwait(false);
            // ROLE on a replica: "slave", the primary's host and port, the link's state, the offset.
            await WaitUntilAsync(async () => Lines(await replica.ExecuteAsync("ROLE").ConfigureAwait(false))[3] == "connected",
                "the replica to sync").ConfigureAwait(false);
        }

        for (var i = 0; i < 3; i++)
        {
            var sentinel = new Sentinel(primary.Port);
            _sentinels.Add(sentinel);
            await sentinel.StartAsync().ConfigureAwait(false);
        }
        // A failover needs a quorum that knows the replica and each other (they meet through the primary every 2 s).
        foreach (var sentinel in _sentinels)
        {
            await WaitUntilAsync(async () =>
                Lines(await sentinel.ExecuteAsync("SENTINEL", "SENTINELS", ServiceName).ConfigureAwait(false))
                    .Count(line => line == "name") == _sentinels.Count - 1 &&
                Lines(await sentinel.ExecuteAsync("SENTINEL", "REPLICAS", ServiceName).ConfigureAwait(false))
                    .Count(line => line == "name") == Replicas,
                $"Sentinel {sentinel.Port} to see the replicas and the other Sentinels").ConfigureAwait(false);
        }
    }

    /// <summary>The primary's port as a running Sentinel names it.</summary>
    public async Task<int> PrimaryPortAsync()
    {
        foreach (var sentinel in _sentinels.Where(s => s.IsRunning))
        {
            try
            {
                var address = Lines(await sentinel.ExecuteAsync("SENTINEL", "GET-MASTER-ADDR-BY-NAME", ServiceName)
                    .ConfigureAwait(false));
                return int.Parse(address[1], CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException)
            {
                // Try the next one.
            }
        }
        throw new InvalidOperationException("No Sentinel answers.");
    }

    public RedisServer ServerOn(int port) => _servers.Single(s => s.Port == port);

    /// <summary>kill -9 of the server that is primary now; returns it (StartAsync brings it back, as a replica).</summary>
    public async Task<RedisServer> KillPrimaryAsync()
    {
        var primary = ServerOn(await PrimaryPortAsync().ConfigureAwait(false));
        await primary.StopAsync().ConfigureAwait(false);
        return primary;
    }

    /// <summary>Waits until the Sentinels name a primary other than <paramref name="oldPort"/> and it answers as one.</summary>
    public async Task<int> WaitForNewPrimaryAsync(int oldPort, TimeSpan timeout)
    {
        var port = 0;
        await WaitUntilAsync(async () =>
        {
            port = await PrimaryPortAsync().ConfigureAwait(false);
            return port != oldPort && Lines(await ServerOn(port).ExecuteAsync("ROLE").ConfigureAwait(false))[0] == "master";
        }, "a new primary", timeout).ConfigureAwait(false);
        return port;
    }

    private static string[] Lines(string reply) => reply.Split('\n');

    private static Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null) =>
        Polling.UntilAsync(condition, what, timeout ?? ReadyTimeout);

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
        foreach (var sentinel in _sentinels)
        {
            sentinel.Dispose();
        }
        foreach (var server in _servers)
        {
            server.Dispose();
        }
    }

    /// <summary>One <c>redis-server --sentinel</c> with its own writable configuration (Sentinel rewrites it).</summary>
    private sealed class Sentinel(int primaryPort) : IDisposable
    {
        private readonly string _directory = ScratchDirectory.Create("flashdeal-sentinel");
        private CrashCleanup? _crashCleanup;
        private Process? _process;

        public int Port { get; private set; }

        public bool IsRunning => _process is { HasExited: false };

        public async Task StartAsync()
        {
            _crashCleanup = new CrashCleanup(_directory, """[ -f "$1/sentinel.pid" ] && kill -KILL "$(cat "$1/sentinel.pid")" """);
            for (var attempt = 1; ; attempt++)
            {
                Port = FreePort.Next();
                var config = Path.Combine(_directory, "sentinel.conf");
                await File.WriteAllTextAsync(config, $"""
                    port {Port}
                    bind {RedisServer.Host}
                    daemonize no
                    dir {_directory}
                    pidfile {Path.Combine(_directory, "sentinel.pid")}
                    logfile {Path.Combine(_directory, "sentinel.log")}
                    sentinel monitor {ServiceName} {RedisServer.Host} {primaryPort} 2
                    sentinel down-after-milliseconds {ServiceName} {(int)DownAfter.TotalMilliseconds}
                    sentinel failover-timeout {ServiceName} 10000
                    sentinel parallel-syncs {ServiceName} 1

                    """).ConfigureAwait(false);
                _process = Process.Start(ProcessRunner.CreateStartInfo(_directory, ServerBinaries.FindRedisServer(),
                    [config, "--sentinel"]))!;
                _process.OutputDataReceived += (_, _) => { };
                _process.ErrorDataReceived += (_, _) => { };
                _process.BeginOutputReadLine();
                _process.BeginErrorReadLine();
                try
                {
                    await WaitUntilAsync(async () => await ExecuteAsync("PING").ConfigureAwait(false) == "PONG",
                        $"Sentinel on {Port}", TimeSpan.FromSeconds(10)).ConfigureAwait(false);
                    return;
                }
                catch (TimeoutException) when (attempt < 5 && _process.HasExited)
                {
                    // The port was taken between choosing and binding it: another one.
                }
            }
        }

        public async Task<string> ExecuteAsync(params string[] command)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            return await RespClient.ExecuteAsync(Port, command, timeout.Token).ConfigureAwait(false);
        }

        public void Dispose()
        {
            if (_process is { HasExited: false })
            {
                _process.Kill();
                _process.WaitForExit(TimeSpan.FromSeconds(5));
            }
            _process?.Dispose();
            _crashCleanup?.Dispose();
            ScratchDirectory.Delete(_directory);
        }
    }
}
