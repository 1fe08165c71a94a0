namespace FlashDeal.Data.Tests.UnitTests;

public class MigrationSetTests
{
    [Fact]
    public void EmbeddedFilesLoadAsNumberedMigrationsWithTheirDownScripts()
    {
        var set = TestMigrations.Embedded("accounts");

        Assert.Equal("accounts", set.Schema);
        Assert.Equal([1L, 2L, 3L], set.Migrations.Select(m => m.Version));
        Assert.Equal(["create_accounts", "add_account_display_name", "create_audit_log"], set.Migrations.Select(m => m.Name));
        Assert.All(set.Migrations, m => Assert.NotNull(m.Down));
        Assert.Contains("CREATE TABLE accounts", set.Migrations[0].Up);
        Assert.Equal(3, set.LatestVersion);
    }

    [Fact]
    public void VersionsAreOrderedNumericallyNotAsText()
    {
        var set = new MigrationSet("s", [new Migration(10, "ten", "SELECT 10"), new Migration(2, "two", "SELECT 2"),
            new Migration(1, "one", "SELECT 1")]);

        Assert.Equal([1L, 2L, 10L], set.Migrations.Select(m => m.Version));
    }

    [Fact]
    public void DuplicateVersionIsRefused()
    {
        var e = Assert.Throws<MigrationException>(() =>
            new MigrationSet("s", [new Migration(1, "a", "SELECT 1"), new Migration(1, "b", "SELECT 2")]));
        Assert.Contains("0001_a", e.Message);
        Assert.Contains("0001_b", e.Message);
    }

    [Theory]
    [InlineData("Auth")]
    [InlineData("auth; DROP TABLE users")]
    [InlineData("1auth")]
    [InlineData("")]
    public void SchemaMustBeAPlainLowerCaseIdentifier(string schema) =>
        Assert.Throws<ArgumentException>(() => new MigrationSet(schema, []));

    [Fact]
    public void MisnamedMigrationFileIsRefusedWithItsName()
    {
        var e = Assert.Throws<MigrationException>(() =>
            MigrationSet.FromAssembly(typeof(TestMigrations).Assembly, "FlashDeal.Data.Tests.BadMigrations", "s"));
        Assert.Contains("0001-missing-underscore.up.sql", e.Message);
    }

    [Fact]
    public void WrongResourcePrefixSaysWhichResourcesExist()
    {
        var e = Assert.Throws<MigrationException>(() =>
            MigrationSet.FromAssembly(typeof(TestMigrations).Assembly, "FlashDeal.Data.Tests.Nothing", "s"));
        Assert.Contains("FlashDeal.Data.Tests.Migrations.0001_create_accounts.up.sql", e.Message);
    }

    [Fact]
    public void ChecksumIgnoresLineEndingsButNotContent()
    {
        var unix = new Migration(1, "a", "CREATE TABLE t (id int);\nSELECT 1;\n");
        var windows = new Migration(1, "a", "CREATE TABLE t (id int);\r\nSELECT 1;\r\n");
        var edited = new Migration(1, "a", "CREATE TABLE t (id bigint);\nSELECT 1;\n");

        Assert.Equal(unix.Checksum, windows.Checksum);
        Assert.NotEqual(unix.Checksum, edited.Checksum);
        Assert.Matches("^[0-9a-f]{64}$", unix.Checksum);
    }
}
