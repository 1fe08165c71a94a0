using FlashDeal.TestInfrastructure;
using Npgsql;

namespace FlashDeal.Data.Tests.IntegrationTests;

/// <summary>Each test migrates a schema of its own in the class's database.</summary>
[Collection(DataServers.Name)]
public sealed class SchemaMigratorTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private readonly string _schema = TestMigrations.NewSchema();

    [Fact]
    public async Task AppliesPendingMigrationsInOrderAndRecordsEach()
    {
        var set = TestMigrations.Embedded(_schema);

        var applied = await Migrator(set).MigrateAsync();

        Assert.Equal([1L, 2L, 3L], applied.Select(m => m.Version));
        var history = await QueryAsync($"SELECT version || ' ' || name || ' ' || checksum FROM {_schema}.schema_migrations ORDER BY version");
        Assert.Equal(set.Migrations.Select(m => $"{m.Version} {m.Name} {m.Checksum}"), history);
        var appliedAt = await QueryAsync($"SELECT count(*) FROM {_schema}.schema_migrations WHERE applied_at > now() - interval '1 minute'");
        Assert.Equal(["3"], appliedAt);
        Assert.Equal(["display_name"], await QueryAsync(
            $"SELECT column_name FROM information_schema.columns WHERE table_schema = '{_schema}' AND table_name = 'accounts' AND column_name = 'display_name'"));
    }

    [Fact]
    public async Task MigratingAgainAppliesNothing()
    {
        var set = TestMigrations.Embedded(_schema);
        await Migrator(set).MigrateAsync();

        var second = await Migrator(set).MigrateAsync();

        Assert.Empty(second);
        Assert.Equal(["1"], await QueryAsync($"SELECT count(*) FROM {_schema}.audit_log"));
    }

    [Fact]
    public async Task NewMigrationIsAppliedOnTopOfTheAppliedOnes()
    {
        var full = TestMigrations.Embedded(_schema);
        await Migrator(TestMigrations.Without(full, fromVersion: 3)).MigrateAsync();

        var applied = await Migrator(full).MigrateAsync();

        Assert.Equal([3L], applied.Select(m => m.Version));
    }

    [Fact]
    public async Task AMigrationMergedBelowAnAppliedOneIsAppliedAfterIt()
    {
        // Branches merged in another order than their numbers (orders' 0004 before 0002 and 0003): the lower version
        // is applied on the next run, after the higher one.
        var full = TestMigrations.Embedded(_schema);
        await Migrator(new MigrationSet(_schema, full.Migrations.Where(m => m.Version != 2))).MigrateAsync();

        var applied = await Migrator(full).MigrateAsync();

        Assert.Equal([2L], applied.Select(m => m.Version));
        Assert.Equal(["1", "2", "3"], await QueryAsync($"SELECT version FROM {_schema}.schema_migrations ORDER BY version"));
    }

    [Fact]
    public async Task EditedAppliedMigrationIsRefusedAndNothingElseRuns()
    {
        var set = TestMigrations.Embedded(_schema);
        await Migrator(TestMigrations.Without(set, fromVersion: 3)).MigrateAsync();
        var original = set.Migrations[0];
        var drifted = new MigrationSet(_schema,
            [new Migration(1, original.Name, original.Up + "\nCREATE INDEX ON accounts (created_at);", original.Down),
             .. set.Migrations.Skip(1)]);

        var e = await Assert.ThrowsAsync<MigrationChecksumException>(() => Migrator(drifted).MigrateAsync());

        Assert.Contains("0001_create_accounts", e.Message);
        Assert.Equal(["2"], await QueryAsync($"SELECT count(*) FROM {_schema}.schema_migrations"));
        var status = await Migrator(drifted).GetStatusAsync();
        Assert.Equal([MigrationState.ChecksumMismatch, MigrationState.Applied, MigrationState.Pending], status.Select(s => s.State));
    }

    [Fact]
    public async Task FailingMigrationRollsBackItselfAndStopsTheRun()
    {
        var set = new MigrationSet(_schema,
        [
            new Migration(1, "first", "CREATE TABLE first (id int);"),
            new Migration(2, "broken", "CREATE TABLE half_done (id int);\nSELEC 1;"),
            new Migration(3, "after", "CREATE TABLE after_broken (id int);"),
        ]);

        var e = await Assert.ThrowsAsync<MigrationException>(() => Migrator(set).MigrateAsync());

        Assert.Contains("0002_broken", e.Message);
        Assert.Contains("42601", e.Message);
        Assert.Equal(["first"], await QueryAsync(
            $"SELECT table_name FROM information_schema.tables WHERE table_schema = '{_schema}' AND table_name <> 'schema_migrations'"));
        Assert.Equal(["1"], await QueryAsync($"SELECT version FROM {_schema}.schema_migrations"));
    }

    [Fact]
    public async Task RollbackRevertsNewestFirstDownToTheTargetVersion()
    {
        var set = TestMigrations.Embedded(_schema);
        await Migrator(set).MigrateAsync();

        var reverted = await Migrator(set).RollbackToAsync(1);

        Assert.Equal([3L, 2L], reverted.Select(m => m.Version));
        Assert.Equal(["1"], await QueryAsync($"SELECT version FROM {_schema}.schema_migrations"));
        Assert.Equal(["created_at", "email", "id"], await QueryAsync(
            $"SELECT column_name FROM information_schema.columns WHERE table_schema = '{_schema}' AND table_name = 'accounts' ORDER BY 1"));
        Assert.Equal([2L, 3L], (await Migrator(set).MigrateAsync()).Select(m => m.Version));
    }

    [Fact]
    public async Task RollbackToZeroRevertsEverything()
    {
        var set = TestMigrations.Embedded(_schema);
        await Migrator(set).MigrateAsync();

        await Migrator(set).RollbackToAsync(0);

        Assert.Equal(["0"], await QueryAsync($"SELECT count(*) FROM {_schema}.schema_migrations"));
        Assert.Equal(["schema_migrations"], await QueryAsync(
            $"SELECT table_name FROM information_schema.tables WHERE table_schema = '{_schema}'"));
    }

    [Fact]
    public async Task RollbackWithoutADownFileRevertsNothing()
    {
        var set = TestMigrations.With(TestMigrations.Embedded(_schema), new Migration(4, "irreversible", "CREATE TABLE kept (id int);"));
        await Migrator(set).MigrateAsync();

        var e = await Assert.ThrowsAsync<MigrationException>(() => Migrator(set).RollbackToAsync(2));

        Assert.Contains("0004_irreversible has no down file", e.Message);
        Assert.Equal(["4"], await QueryAsync($"SELECT count(*) FROM {_schema}.schema_migrations"));
    }

    [Fact]
    public async Task FiveMigratorsStartingTogetherApplyEachMigrationOnce()
    {
        // The slow migration keeps the race window open: without the lock every migrator would try to apply it.
        var set = TestMigrations.With(TestMigrations.Embedded(_schema),
            new Migration(4, "slow", "SELECT pg_sleep(0.3); SELECT audit('0004 applied');"));
        var dataSources = Enumerable.Range(0, 5).Select(_ => NpgsqlDataSource.Create(database.ConnectionString)).ToList();
        try
        {
            // A gate, not a Barrier: five blocked pool threads would starve every other test in the process.
            var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var runs = dataSources.Select(async ds =>
            {
                await go.Task;
                return await new SchemaMigrator(ds, set).MigrateAsync();
            }).ToList();
            go.SetResult();

            var results = await Task.WhenAll(runs);

            Assert.Equal([1L, 2L, 3L, 4L], results.SelectMany(r => r).Select(m => m.Version).Order());
            Assert.Equal(["0003 applied", "0004 applied"], await QueryAsync($"SELECT event FROM {_schema}.audit_log ORDER BY id"));
            Assert.Equal(["4"], await QueryAsync($"SELECT count(*) FROM {_schema}.schema_migrations"));
        }
        finally
        {
            foreach (var ds in dataSources)
            {
                await ds.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task StatusShowsPendingAppliedAndVersionsUnknownToThisBuild()
    {
        var set = TestMigrations.Embedded(_schema);
        Assert.All(await Migrator(set).GetStatusAsync(), s => Assert.Equal(MigrationState.Pending, s.State));
        await Migrator(set).MigrateAsync();

        var olderBuild = await Migrator(TestMigrations.Without(set, fromVersion: 3)).GetStatusAsync();

        Assert.Equal([MigrationState.Applied, MigrationState.Applied, MigrationState.Unknown], olderBuild.Select(s => s.State));
        Assert.All(olderBuild, s => Assert.NotNull(s.AppliedAt));
        Assert.Empty(await Migrator(TestMigrations.Without(set, fromVersion: 3)).MigrateAsync());
    }

    [Fact]
    public async Task MigrationsCreateTheirTablesInTheServiceSchema()
    {
        await Migrator(TestMigrations.Embedded(_schema)).MigrateAsync();

        Assert.Equal(["accounts", "audit_log", "schema_migrations"], await QueryAsync(
            $"SELECT table_name FROM information_schema.tables WHERE table_schema = '{_schema}' ORDER BY 1"));
        Assert.Empty(await QueryAsync("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"));
    }

    private SchemaMigrator Migrator(MigrationSet set) => new(database.DataSource, set);

    private async Task<List<string>> QueryAsync(string sql)
    {
        await using var command = database.DataSource.CreateCommand(sql);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(Convert.ToString(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture)!);
        }
        return rows;
    }
}
