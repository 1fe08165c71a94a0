using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Xunit;

namespace FlashDeal.TestInfrastructure;

/// <summary>
/// A Redis Cluster of six real redis-server processes on loopback (AOF on, <see cref="NodeTimeout"/>), joined by
/// <c>redis-cli --cluster create --cluster-replicas 1</c>: three primaries holding a third of the hash slots each, a
/// replica behind each. Clients connect with <see cref="ConnectionString"/> (every node; StackExchange.Redis reads the
/// slot map). <see cref="KillAsync"/> crashes a node (SIGKILL), <see cref="WaitForFailoverAsync"/> waits until its
/// replica serves its slots, <see cref="RestartAsync"/> brings it back as that replica's replica. Use it as a class
/// fixture: a failover changes the set for later tests.
/// <para>
/// <c>cluster-require-full-coverage no</c>: with Redis's default (yes) every node answers CLUSTERDOWN for every key
/// from the moment a primary is flagged failed until its replica has won the election (about a second here), so one
/// shard's failure would stall all of them; FlashDeal's deals live on one slot each and must not depend on each other.
/// </para>
/// </summary>
public sealed class RedisClusterSet : IAsyncLifetime, IDisposable
{
    public const int NodeCount = 6;

    public static readonly TimeSpan NodeTimeout = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private readonly List<RedisServer> _nodes = [];
    private readonly Dictionary<int, IReadOnlyList<SlotRange>> _killedPrimarySlots = [];
    private int _disposed;

    /// <summary>Every node, in the order given to <c>--cluster create</c> (the first three start as primaries).</summary>
    public IReadOnlyList<RedisServer> Nodes => _nodes;

    /// <summary>StackExchange.Redis syntax: every node.</summary>
    public string ConnectionString => string.Join(",", _nodes.Select(n => n.ConnectionString));

    public RedisServer NodeOn(int port) => _nodes.Single(n => n.Port == port);

    public async Task InitializeAsync()
    {
        var cli = FindRedisCli();
        var busPorts = new HashSet<int>();
        for (var i = 0; i < NodeCount; i++)
        {
            _nodes.Add(await StartNodeAsync(busPorts).ConfigureAwait(false));
        }
        var (exitCode, output) = await ProcessRunner.RunAsync(_nodes[0].Directory, ReadyTimeout, cli,
        [
            "--cluster", "create", .. _nodes.Select(n => n.ConnectionString), "--cluster-replicas", "1", "--cluster-yes",
        ]).ConfigureAwait(false);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"redis-cli --cluster create failed ({exitCode}):\n{output}");
        }
        await WaitUntilAsync(async () =>
        {
            foreach (var node in _nodes)
            {
                var info = await ClusterInfoAsync(node.Port).ConfigureAwait(false);
                if (info.GetValueOrDefault("cluster_state") != "ok" ||
                    info.GetValueOrDefault("cluster_known_nodes") != NodeCount.ToString(CultureInfo.InvariantCulture) ||
                    (await ViewAsync(node.Port).ConfigureAwait(false)).Count(n => n.IsPrimary && n.Slots.Count > 0) != NodeCount / 2 ||
                    !await IsSyncedPrimaryOrReplicaAsync(node).ConfigureAwait(false))
                {
                    return false;
                }
            }
            return true;
        }, "every node to know the others, the slots covered and every replica in sync").ConfigureAwait(false);
    }

    /// <summary>The ports of the nodes that serve slots now, as a running node sees it, ordered by their first slot.</summary>
    public async Task<IReadOnlyList<int>> PrimaryPortsAsync() =>
        [.. (await AnyViewAsync().ConfigureAwait(false))
            .Where(n => n.IsPrimary && !n.Failed && n.Slots.Count > 0)
            .OrderBy(n => n.Slots.Min(s => s.From))
            .Select(n => n.Port)];

    /// <summary>CLUSTER KEYSLOT, asked of a running node.</summary>
    public async Task<int> SlotOfAsync(string key)
    {
        var node = _nodes.First(n => n.IsRunning);
        return int.Parse(await node.ExecuteAsync("CLUSTER", "KEYSLOT", key).ConfigureAwait(false), CultureInfo.InvariantCulture);
    }

    /// <summary>The port of the primary serving <paramref name="slot"/>, as a running node sees it.</summary>
    public async Task<int> PrimaryPortForSlotAsync(int slot) =>
        OwnerOf(await AnyViewAsync().ConfigureAwait(false), slot)
            ?? throw new InvalidOperationException($"No primary serves slot {slot}.");

    public async Task<int> PrimaryPortForKeyAsync(string key) =>
        await PrimaryPortForSlotAsync(await SlotOfAsync(key).ConfigureAwait(false)).ConfigureAwait(false);

    /// <summary>kill -9 of the node on <paramref name="port"/>; the slots it served are remembered for WaitForFailoverAsync.</summary>
    public async Task KillAsync(int port)
    {
        var node = NodeOn(port);
        var self = (await ViewAsync(port).ConfigureAwait(false)).Single(n => n.Port == port);
        if (self.IsPrimary)
        {
            _killedPrimarySlots[port] = self.Slots;
        }
        await node.StopAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Waits until every running node is <c>cluster_state:ok</c> and names one and the same other node, a primary by its
    /// own ROLE, as the owner of every slot the killed primary on <paramref name="oldPort"/> served; returns its port.
    /// </summary>
    public async Task<int> WaitForFailoverAsync(int oldPort, TimeSpan timeout)
    {
        var slots = _killedPrimarySlots.TryGetValue(oldPort, out var served) ? served
            : throw new InvalidOperationException($"No primary on port {oldPort} was killed with KillAsync.");
        var newPort = 0;
        await WaitUntilAsync(async () =>
        {
            var owners = new HashSet<int?>();
            foreach (var node in _nodes.Where(n => n.IsRunning))
            {
                if ((await ClusterInfoAsync(node.Port).ConfigureAwait(false)).GetValueOrDefault("cluster_state") != "ok")
                {
                    return false;
                }
                var view = await ViewAsync(node.Port).ConfigureAwait(false);
                owners.UnionWith(slots.SelectMany(s => new[] { OwnerOf(view, s.From), OwnerOf(view, s.To) }));
            }
            if (owners.Count != 1 || owners.Single() is not { } owner || owner == oldPort)
            {
                return false;
            }
            newPort = owner;
            return Lines(await NodeOn(owner).ExecuteAsync("ROLE").ConfigureAwait(false))[0] == "master";
        }, $"a replica of the node on {oldPort} to serve its slots", timeout).ConfigureAwait(false);
        return newPort;
    }

    /// <summary>
    /// Starts the killed node on <paramref name="port"/> again (same port, same nodes.conf and AOF) and waits until it has
    /// rejoined as a replica in sync with its primary, which every running node then sees as healthy.
    /// </summary>
    public async Task RestartAsync(int port, TimeSpan timeout)
    {
        var node = NodeOn(port);
        await node.StartAsync().ConfigureAwait(false);
        await WaitUntilAsync(async () =>
        {
            var role = Lines(await node.ExecuteAsync("ROLE").ConfigureAwait(false));
            if (role[0] != "slave" || role[3] != "connected")
            {
                return false;
            }
            foreach (var other in _nodes.Where(n => n.IsRunning))
            {
                if ((await ClusterInfoAsync(other.Port).ConfigureAwait(false)).GetValueOrDefault("cluster_state") != "ok" ||
                    (await ViewAsync(other.Port).ConfigureAwait(false)).Single(n => n.Port == port) is not { IsPrimary: false, Failed: false })
                {
                    return false;
                }
            }
            return true;
        }, $"the node on {port} to rejoin as a replica in sync", timeout).ConfigureAwait(false);
    }

    /// <summary>INFO <paramref name="section"/> of the node on <paramref name="port"/> as field → value.</summary>
    public static async Task<IReadOnlyDictionary<string, string>> InfoAsync(int port, string section) =>
        Fields(await QueryAsync(port, "INFO", section).ConfigureAwait(false));

    /// <summary>A node's line of CLUSTER NODES: its port, role, failure flag and slot ranges.</summary>
    private sealed record NodeView(int Port, bool IsPrimary, bool Failed, IReadOnlyList<SlotRange> Slots);

    private readonly record struct SlotRange(int From, int To);

    private static int? OwnerOf(IEnumerable<NodeView> view, int slot) =>
        view.SingleOrDefault(n => n.IsPrimary && !n.Failed && n.Slots.Any(s => s.From <= slot && slot <= s.To))?.Port;

    private async Task<IReadOnlyList<NodeView>> AnyViewAsync()
    {
        foreach (var node in _nodes.Where(n => n.IsRunning))
        {
            try
            {
                return await ViewAsync(node.Port).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
            {
                // Try the next one.
            }
        }
        throw new InvalidOperationException("No cluster node answers.");
    }

    /// <summary>
    /// CLUSTER NODES as one node sees the cluster. A line: id, ip:port@bus, flags (myself,master,fail…), primary id,
    /// ping, pong, epoch, link state, then slots ("0-5460", "5461", or "[5462-&gt;-id]" while migrating: skipped).
    /// </summary>
    private static async Task<IReadOnlyList<NodeView>> ViewAsync(int port)
    {
        var text = await QueryAsync(port, "CLUSTER", "NODES").ConfigureAwait(false);
        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(line =>
        {
            var fields = line.Split(' ');
            var address = fields[1].Split('@')[0];
            var flags = fields[2].Split(',');
            var slots = fields.Skip(8).Where(s => !s.StartsWith('[')).Select(s =>
            {
                var bounds = s.Split('-');
                return new SlotRange(int.Parse(bounds[0], CultureInfo.InvariantCulture),
                    int.Parse(bounds[^1], CultureInfo.InvariantCulture));
            });
            return new NodeView(int.Parse(address[(address.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture),
                flags.Contains("master"), flags.Contains("fail"), [.. slots]);
        })];
    }

    private static async Task<IReadOnlyDictionary<string, string>> ClusterInfoAsync(int port) =>
        Fields(await QueryAsync(port, "CLUSTER", "INFO").ConfigureAwait(false));

    /// <summary>"field:value" lines (INFO, CLUSTER INFO); "# Section" headers are skipped.</summary>
    private static Dictionary<string, string> Fields(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.Split(':', 2))
            .Where(kv => kv.Length == 2)
            .ToDictionary(kv => kv[0], kv => kv[1]);

    /// <summary>A primary, or a replica whose link to its primary is up (ROLE: "slave", host, port, state, offset).</summary>
    private static async Task<bool> IsSyncedPrimaryOrReplicaAsync(RedisServer node)
    {
        var role = Lines(await node.ExecuteAsync("ROLE").ConfigureAwait(false));
        return role[0] == "master" || (role[0] == "slave" && role[3] == "connected");
    }

    private static async Task<string> QueryAsync(int port, params string[] command)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return await RespClient.ExecuteAsync(port, command, timeout.Token).ConfigureAwait(false);
    }

    /// <summary>
    /// A node on a free port, its cluster bus on a free port below 32768 (<c>cluster-port</c>; the default, port + 10000,
    /// may lie past 65535 or on a taken port). Below 32768 no outgoing connection takes the bus port meanwhile.
    /// </summary>
    private static async Task<RedisServer> StartNodeAsync(HashSet<int> busPorts)
    {
        for (var attempt = 1; ; attempt++)
        {
            var busPort = FreeBusPort(busPorts);
            var node = new RedisServer
            {
                Arguments =
                [
                    "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                    "--cluster-node-timeout", ((int)NodeTimeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture),
                    "--cluster-port", busPort.ToString(CultureInfo.InvariantCulture),
                    "--cluster-require-full-coverage", "no", "--appendonly", "yes",
                    // A replica's full sync starts at once, not after Redis's default wait of 5 s for more replicas.
                    "--repl-diskless-sync-delay", "0",
                ],
            };
            try
            {
                await node.StartAsync().ConfigureAwait(false);
                busPorts.Add(busPort);
                return node;
            }
            catch (InvalidOperationException) when (attempt < 5)
            {
                // The bus port was taken between probing and binding it: another one.
                node.Dispose();
            }
        }
    }

    private static int FreeBusPort(HashSet<int> taken)
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = Random.Shared.Next(20000, 32768);
            if (taken.Contains(port))
            {
                continue;
            }
            try
            {
                using var probe = new TcpListener(IPAddress.Loopback, port);
                probe.Start();
                return port;
            }
            catch (SocketException)
            {
                // In use: another.
            }
        }
        throw new InvalidOperationException("No free port below 32768 for a cluster bus.");
    }

    private static string FindRedisCli()
    {
        var cli = Path.Combine(Path.GetDirectoryName(ServerBinaries.FindRedisServer())!, "redis-cli");
        return File.Exists(cli) ? cli : throw new InvalidOperationException(
            $"redis-cli was not found next to redis-server ({cli}); it creates the test cluster. Install it with " +
            "`sudo apt-get install -y redis-tools` (Debian/Ubuntu).");
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
        foreach (var node in _nodes)
        {
            node.Dispose();
        }
    }
}
