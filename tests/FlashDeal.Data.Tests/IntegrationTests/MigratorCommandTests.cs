using FlashDeal.TestInfrastructure;
using Microsoft.Extensions.Configuration;

namespace FlashDeal.Data.Tests.IntegrationTests;

[Collection(DataServers.Name)]
public sealed class MigratorCommandTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private readonly MigrationSet _set = TestMigrations.Embedded(TestMigrations.NewSchema());

    [Fact]
    public async Task MigrateVerbAppliesEverythingAndVerifyThenPasses()
    {
        var (code, output) = await RunAsync("migrate", "--connection", database.ConnectionString);

        Assert.Equal(0, code);
        Assert.Contains("applied 0001_create_accounts", output);
        Assert.Contains($"{_set.Schema}: applied 3, now at version 3", output);
        Assert.Equal(0, (await RunAsync("migrate", "verify", "--connection", database.ConnectionString)).ExitCode);
    }

    [Fact]
    public async Task ConnectionStringComesFromConfiguration()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:Postgres"] = database.ConnectionString })
            .Build();
        using var output = new StringWriter();

        var code = await Migrator.RunAsync(["migrate", "up"], _set, configuration, output);

        Assert.Equal(0, code);
        Assert.Contains("now at version 3", output.ToString());
    }

    [Fact]
    public async Task DownThenStatusAndVerifyReportPendingWork()
    {
        await RunAsync("migrate", "--connection", database.ConnectionString);

        var down = await RunAsync("migrate", "down", "--to", "1", "--connection", database.ConnectionString);
        var status = await RunAsync("migrate", "status", "--connection", database.ConnectionString);
        var verify = await RunAsync("migrate", "verify", "--connection", database.ConnectionString);

        Assert.Equal(0, down.ExitCode);
        Assert.Contains("reverted 2, now at version 1", down.Output);
        Assert.Matches(@"0001\s+Applied\s+create_accounts", status.Output);
        Assert.Matches(@"0003\s+Pending\s+create_audit_log", status.Output);
        Assert.Equal(1, verify.ExitCode);
    }

    [Fact]
    public async Task ChecksumDriftFailsWithExitCodeOne()
    {
        await RunAsync("migrate", "--connection", database.ConnectionString);
        var first = _set.Migrations[0];
        var drifted = new MigrationSet(_set.Schema, [new Migration(1, first.Name, first.Up + " ", first.Down), .. _set.Migrations.Skip(1)]);
        using var output = new StringWriter();

        var code = await Migrator.RunAsync(["migrate", "--connection", database.ConnectionString], drifted, output: output);

        Assert.Equal(1, code);
        Assert.Contains("changed after being applied", output.ToString());
    }

    [Theory]
    [InlineData("migrate", "sideways")]
    [InlineData("migrate", "down")]
    [InlineData("migrate", "down", "--to", "x")]
    [InlineData("migrate", "up", "up")]
    public async Task BadUsageExitsWithTwoAndPrintsUsage(params string[] args)
    {
        var (code, output) = await RunAsync([.. args, "--connection", database.ConnectionString]);

        Assert.Equal(2, code);
        Assert.Contains("usage: <service> migrate", output);
    }

    [Fact]
    public async Task MissingConnectionStringExitsWithTwo()
    {
        using var output = new StringWriter();

        var code = await Migrator.RunAsync(["migrate"], _set, new ConfigurationBuilder().Build(), output);

        Assert.Equal(2, code);
        Assert.Contains("ConnectionStrings__Postgres", output.ToString());
    }

    [Fact]
    public void MigrateVerbIsRecognisedOnlyAsTheFirstArgument()
    {
        Assert.True(Migrator.IsMigrateCommand(["migrate", "up"]));
        Assert.False(Migrator.IsMigrateCommand(["--urls", "migrate"]));
        Assert.False(Migrator.IsMigrateCommand([]));
    }

    private async Task<(int ExitCode, string Output)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        var code = await Migrator.RunAsync(args, _set, new ConfigurationBuilder().Build(), output);
        return (code, output.ToString());
    }
}
