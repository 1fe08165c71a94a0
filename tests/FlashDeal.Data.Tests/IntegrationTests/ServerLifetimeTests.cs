using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using FlashDeal.TestInfrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace FlashDeal.Data.Tests.IntegrationTests;

/// <summary>Servers of their own (not the collection's): these tests end them.</summary>
public sealed class ServerLifetimeTests(ITestOutputHelper output)
{
    private static readonly TimeSpan CleanupLimit = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task BothServersStartFromTheClusterTemplateAndServe()
    {
        // The first start on a machine also runs initdb once for the template; that is not the per-run cost.
        using (var warmUp = new PostgresServer())
        {
            await warmUp.StartAsync();
        }
        using var postgres = new PostgresServer();
        using var redis = new RedisServer();
        var started = Stopwatch.StartNew();
        await Task.WhenAll(postgres.StartAsync(), redis.StartAsync());

        // Start-up time is reported, not asserted: on a shared 2-core box a timing assertion only measures the neighbours.
        output.WriteLine($"PostgreSQL and Redis ready after {started.ElapsedMilliseconds} ms");
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT 1", connection);
        Assert.Equal(1, await command.ExecuteScalarAsync());
        Assert.Equal("PONG", await redis.ExecuteAsync("PING"));
    }

    [Fact]
    public async Task DisposeStopsBothServersAndDeletesTheirFiles()
    {
        var postgres = new PostgresServer();
        var redis = new RedisServer();
        await Task.WhenAll(postgres.StartAsync(), redis.StartAsync());
        var directories = new[] { postgres.Directory, redis.Directory };
        var ports = new[] { postgres.Port, redis.Port };

        postgres.Dispose();
        redis.Dispose();

        Assert.All(directories, d => Assert.False(Directory.Exists(d), $"{d} is still there"));
        foreach (var port in ports)
        {
            Assert.False(await AcceptsConnectionsAsync(port), $"port {port} still accepts connections");
        }
    }

    [Fact]
    public async Task ServersDieAndFilesVanishWhenTheHostProcessIsKilled()
    {
        using var host = Process.Start(new ProcessStartInfo(DotnetHost())
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "FlashDeal.TestInfrastructure.dll") },
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        var announced = new Dictionary<string, string>();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            while (await host.StandardOutput.ReadLineAsync(timeout.Token) is { } line && line != "ready")
            {
                var parts = line.Split('=', 2);
                announced[parts[0]] = parts.Length == 2 ? parts[1] : "";
            }
        }
        var postgresPort = int.Parse(announced["postgres"].Split(';').Single(p => p.StartsWith("Port=", StringComparison.Ordinal))[5..],
            System.Globalization.CultureInfo.InvariantCulture);
        var redisPort = int.Parse(announced["redis"].Split(':')[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(await AcceptsConnectionsAsync(postgresPort));
        Assert.True(await AcceptsConnectionsAsync(redisPort));

        host.Kill(); // SIGKILL: no Dispose, no ProcessExit handler runs.
        await host.WaitForExitAsync();

        var waited = Stopwatch.StartNew();
        while (await AcceptsConnectionsAsync(postgresPort) || await AcceptsConnectionsAsync(redisPort)
               || Directory.Exists(announced["postgres_dir"]) || Directory.Exists(announced["redis_dir"]))
        {
            Assert.True(waited.Elapsed < CleanupLimit, "servers or their files survived the killed host");
            await Task.Delay(50);
        }
        output.WriteLine($"cleaned up {waited.ElapsedMilliseconds} ms after the kill");
    }

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } path ? path
        : Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";

    private static async Task<bool> AcceptsConnectionsAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
