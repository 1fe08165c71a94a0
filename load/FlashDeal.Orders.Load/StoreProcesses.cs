using System.Globalization;
using System.Net;
using Npgsql;
using StackExchange.Redis;

namespace FlashDeal.Orders.Load;

/// <summary>
/// The server processes behind the benchmark's connections, found by asking the servers (Redis's <c>INFO</c>,
/// PostgreSQL's <c>postmaster.pid</c>), for the CPU budget. Loopback servers only: a pid means nothing elsewhere.
/// </summary>
public static class StoreProcesses
{
    /// <summary>
    /// "redis:PORT" → pid of every server the connection (with allowAdmin) knows, and "redis:replica:PORT" → pid of the
    /// replicas connected to them.
    /// </summary>
    public static async Task<IReadOnlyList<(string Name, int Pid)>> RedisAsync(IConnectionMultiplexer redis)
    {
        var found = new List<(string Name, int Pid)>();
        foreach (var endpoint in redis.GetEndPoints())
        {
            var server = redis.GetServer(endpoint);
            found.Add(($"redis:{Port(endpoint)}", ProcessId(await server.InfoAsync("server"))));
            foreach (var replica in ReplicaPorts(await server.InfoAsync("replication")))
            {
                await using var connection = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{replica},allowAdmin=true");
                var replicaServer = connection.GetServer(connection.GetEndPoints()[0]);
                found.Add(($"redis:replica:{replica}", ProcessId(await replicaServer.InfoAsync("server"))));
            }
        }
        return found.DistinctBy(p => p.Pid).ToList();
    }

    /// <summary>"AOF everysec", "AOF always, 1 replica": what the primaries of a connection persist and how (for the tables).</summary>
    public static async Task<string> DescribeRedisAsync(IConnectionMultiplexer redis)
    {
        var server = redis.GetServers().First(s => !s.IsReplica);
        var config = (await server.ConfigGetAsync("append*")).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        var persistence = config.GetValueOrDefault("appendonly") == "yes" ? $"AOF {config.GetValueOrDefault("appendfsync")}" : "no AOF";
        var replicas = ReplicaPorts(await server.InfoAsync("replication")).Count;
        return replicas == 0 ? persistence : $"{persistence}, {replicas} replica{(replicas == 1 ? "" : "s")}";
    }

    /// <summary>The postmaster (its backends are its children, so the budget counts them too); null when unreadable.</summary>
    public static async Task<(string Name, int Pid)?> PostgresAsync(NpgsqlDataSource dataSource)
    {
        try
        {
            await using var command = dataSource.CreateCommand("SHOW data_directory");
            var directory = (string)(await command.ExecuteScalarAsync())!;
            var firstLine = (await File.ReadAllLinesAsync(Path.Combine(directory, "postmaster.pid")))[0];
            return ("postgres", int.Parse(firstLine, CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is PostgresException or IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    private static int ProcessId(IGrouping<string, KeyValuePair<string, string>>[] info) =>
        int.Parse(info.SelectMany(g => g).First(p => p.Key == "process_id").Value, CultureInfo.InvariantCulture);

    /// <summary>From INFO replication: "slave0" → "ip=127.0.0.1,port=6380,state=online,…".</summary>
    private static List<int> ReplicaPorts(IGrouping<string, KeyValuePair<string, string>>[] info) =>
        info.SelectMany(g => g)
            .Where(p => p.Key.StartsWith("slave", StringComparison.Ordinal) && char.IsAsciiDigit(p.Key[^1]))
            .Select(p => p.Value.Split(',').Select(f => f.Split('=')).First(f => f[0] == "port")[1])
            .Select(port => int.Parse(port, CultureInfo.InvariantCulture))
            .ToList();

    private static int Port(EndPoint endpoint) => endpoint switch
    {
        IPEndPoint ip => ip.Port,
        DnsEndPoint dns => dns.Port,
        _ => 0,
    };
}
