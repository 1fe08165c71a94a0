using FlashDeal.TestInfrastructure;

namespace FlashDeal.Data.Tests.UnitTests;

public sealed class ServerBinariesTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("flashdeal-bin-test").FullName;

    [Fact]
    public void MissingPostgresSaysWhatToInstall()
    {
        var e = Assert.Throws<InvalidOperationException>(() =>
            ServerBinaries.FindPostgresBin(null, [Path.Combine(_root, "none")], _root));

        Assert.Contains("apt-get install -y postgresql", e.Message);
    }

    [Fact]
    public void MissingRedisSaysWhatToInstall()
    {
        var e = Assert.Throws<InvalidOperationException>(() => ServerBinaries.FindRedisServer([_root]));
        Assert.Contains("apt-get install -y redis-server", e.Message);
    }

    [Fact]
    public void HighestInstalledPostgresVersionWins()
    {
        foreach (var version in new[] { "13", "16", "9.6" })
        {
            var bin = Directory.CreateDirectory(Path.Combine(_root, "postgresql", version, "bin")).FullName;
            File.WriteAllText(Path.Combine(bin, "initdb"), "");
            File.WriteAllText(Path.Combine(bin, "pg_ctl"), "");
        }
        Directory.CreateDirectory(Path.Combine(_root, "postgresql", "17", "bin"));

        var found = ServerBinaries.FindPostgresBin(null, [Path.Combine(_root, "postgresql")], null);

        Assert.Equal(Path.Combine(_root, "postgresql", "16", "bin"), found);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
