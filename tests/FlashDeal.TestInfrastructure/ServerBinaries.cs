namespace FlashDeal.TestInfrastructure;

/// <summary>Finds the PostgreSQL and Redis server programs, or says exactly what to install.</summary>
internal static class ServerBinaries
{
    public const string PostgresMissing =
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found in /usr/lib/postgresql/<version>/bin or on " +
        "PATH. The data tests start a real PostgreSQL; install it with `sudo apt-get install -y postgresql` " +
        "(Debian/Ubuntu; the server package, not only postgresql-client), or set FLASHDEAL_PG_BIN to its bin directory.";

    public const string RedisMissing =
        "redis-server was not found on PATH or in /usr/bin. The data tests start a real Redis; install it with " +
        "`sudo apt-get install -y redis-server` (Debian/Ubuntu).";

    public const string PostgresUserMissing =
        "The tests run as root, and PostgreSQL refuses to run as root, so they run it as the OS user 'postgres', which " +
        "does not exist here. Install the Debian package postgresql (it creates the user) or run the tests as a normal user.";

    public const string RunuserMissing =
        "The tests run as root, so they start PostgreSQL as the OS user 'postgres' with runuser, which was not found in " +
        "/usr/sbin, /sbin, /usr/bin or /bin. Install util-linux (`sudo apt-get install -y util-linux`) or run the tests as a normal user.";

    /// <summary>Absolute, because root's PATH in a minimal container may lack the sbin directories.</summary>
    public static string FindRunuser() =>
        new[] { "/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser", "/bin/runuser" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException(RunuserMissing);

    /// <summary>The bin directory holding initdb and pg_ctl; the highest installed major version wins.</summary>
    public static string FindPostgresBin(string? overrideDirectory, IEnumerable<string> versionRoots, string? path)
    {
        if (!string.IsNullOrEmpty(overrideDirectory))
        {
            return HasPostgres(overrideDirectory) ? overrideDirectory
                : throw new InvalidOperationException($"FLASHDEAL_PG_BIN={overrideDirectory} holds no initdb/pg_ctl. {PostgresMissing}");
        }
        var versioned = versionRoots
            .Where(Directory.Exists)
            .SelectMany(Directory.EnumerateDirectories)
            .Select(d => (Directory: Path.Combine(d, "bin"), Version: decimal.TryParse(Path.GetFileName(d), out var v) ? v : -1))
            .Where(c => c.Version >= 0 && HasPostgres(c.Directory))
            .OrderByDescending(c => c.Version)
            .Select(c => c.Directory);
        var onPath = (path ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Where(HasPostgres);
        return versioned.Concat(onPath).FirstOrDefault() ?? throw new InvalidOperationException(PostgresMissing);
    }

    public static string FindPostgresBin() => FindPostgresBin(Environment.GetEnvironmentVariable("FLASHDEAL_PG_BIN"),
        ["/usr/lib/postgresql"], Environment.GetEnvironmentVariable("PATH"));

    public static string FindRedisServer(IEnumerable<string> directories) =>
        directories.Select(d => Path.Combine(d, "redis-server")).FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException(RedisMissing);

    public static string FindRedisServer() => FindRedisServer(
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/bin").Append("/usr/local/bin"));

    private static bool HasPostgres(string directory) =>
        File.Exists(Path.Combine(directory, "initdb")) && File.Exists(Path.Combine(directory, "pg_ctl"));
}
