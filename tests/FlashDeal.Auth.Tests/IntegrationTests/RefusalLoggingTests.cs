using FlashDeal.TestInfrastructure;
using Microsoft.Extensions.Logging;

namespace FlashDeal.Auth.Tests.IntegrationTests;

/// <summary>
/// A refused call is the caller's answer, not a server event: Grpc.AspNetCore's "Error status code … raised" line (one per
/// non-OK call, at Information) stays out of the logs at the services' default level, unless configuration asks for it.
/// </summary>
[Collection(DataServers.Name)]
public sealed class RefusalLoggingTests(AuthServiceFixture service) : IClassFixture<AuthServiceFixture>
{
    private const string CallHandler = "Grpc.AspNetCore.Server.ServerCallHandler";

    private async Task<IReadOnlyList<LogEntry>> RefusedLogInsAsync(Dictionary<string, string?> settings)
    {
        var logs = new LogCapture();
        settings["Logging:LogLevel:Default"] = "Information";
        settings["Logging:Console:LogLevel:Default"] = "None";
        var host = await service.StartHostAsync(settings, logs);
        var client = new AuthClient(host);
        for (var i = 0; i < 3; i++)
        {
            await client.LogInFailsAsync($"nobody-{Guid.NewGuid():N}@example.com");
        }
        return logs.Entries;
    }

    [Fact]
    public async Task RefusalsAreNotLoggedAtTheDefaultLevel()
    {
        var entries = await RefusedLogInsAsync([]);

        Assert.Contains(entries, e => e.Level == LogLevel.Information); // the level is on: the host's start is logged
        Assert.DoesNotContain(entries, e => e.Category == CallHandler && e.Level < LogLevel.Warning);
    }

    [Fact]
    public async Task ConfigurationCanAskForThem()
    {
        var entries = await RefusedLogInsAsync(new() { [$"Logging:LogLevel:{CallHandler}"] = "Information" });

        Assert.Equal(3, entries.Count(e => e.Category == CallHandler && e.Message.Contains("Unauthenticated")));
    }
}
