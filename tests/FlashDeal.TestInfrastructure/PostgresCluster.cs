using System.Security.Cryptography;
using System.Text;

namespace FlashDeal.TestInfrastructure;

/// <summary>
/// Creates cluster directories for <see cref="PostgresServer"/>. initdb costs 0.4–1.2 s on a busy 2-core machine while
/// copying a pristine cluster costs ~30 ms, so the first run on a machine initdb's a template next to the scratch
/// directories (published by an atomic rename, so parallel test runs never see half of one) and every server copies it.
/// </summary>
internal sealed class PostgresCluster(string bin, bool runAsPostgresUser)
{
    private readonly string? _runuser = runAsPostgresUser ? ServerBinaries.FindRunuser() : null;

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);
    private static readonly SemaphoreSlim TemplateGate = new(1, 1);

    private static readonly string[] InitDbOptions =
        ["-U", PostgresServer.Username, "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions", "--wal-segsize=1"];

    public string PgCtl => Path.Combine(bin, "pg_ctl");

    /// <summary>Makes <paramref name="directory"/>, owned by the server's OS user, holding a fresh cluster in <c>data/</c>.</summary>
    public async Task CreateAsync(string directory)
    {
        var template = await EnsureTemplateAsync().ConfigureAwait(false);
        // cp -a keeps owner and modes: as root, the copy of the postgres-owned template is postgres-owned too.
        var (exitCode, output) = await ProcessRunner.RunAsync(ScratchDirectory.Root, CommandTimeout, "cp", "-a", template, directory)
            .ConfigureAwait(false);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"Copying the cluster template {template} failed: {output}");
        }
    }

    /// <summary>Runs a PostgreSQL program as the OS user that owns the cluster.</summary>
    public Task<(int ExitCode, string Output)> RunAsync(string workingDirectory, string program, params IEnumerable<string> arguments) =>
        runAsPostgresUser
            ? ProcessRunner.RunAsync(workingDirectory, CommandTimeout, _runuser!, ["-u", "postgres", "--", program, .. arguments])
            : ProcessRunner.RunAsync(workingDirectory, CommandTimeout, program, arguments);

    public int Run(string workingDirectory, string program, params IEnumerable<string> arguments) =>
        runAsPostgresUser
            ? ProcessRunner.Run(workingDirectory, CommandTimeout, _runuser!, ["-u", "postgres", "--", program, .. arguments])
            : ProcessRunner.Run(workingDirectory, CommandTimeout, program, arguments);

    private async Task<string> EnsureTemplateAsync()
    {
        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(
            $"{bin}|{string.Join(' ', InitDbOptions)}|{(runAsPostgresUser ? "postgres" : Environment.UserName)}")))[..12];
        var template = Path.Combine(ScratchDirectory.Root, $"flashdeal-pg-template-{key}");
        if (File.Exists(Path.Combine(template, "data", "PG_VERSION")))
        {
            return template;
        }

        // Servers of one test host wait for one initdb; parallel hosts race, and the rename below picks a winner.
        await TemplateGate.WaitAsync().ConfigureAwait(false);
        var building = ScratchDirectory.NewPath($"flashdeal-pg-template-{key}.building");
        try
        {
            if (File.Exists(Path.Combine(template, "data", "PG_VERSION")))
            {
                return template;
            }
            await MakeDirectoryAsync(building).ConfigureAwait(false);
            var (exitCode, output) = await RunAsync(building, Path.Combine(bin, "initdb"),
                ["-D", Path.Combine(building, "data"), .. InitDbOptions]).ConfigureAwait(false);
            if (exitCode != 0)
            {
                throw new InvalidOperationException($"initdb failed:\n{output}");
            }
            Directory.Move(building, template);
        }
        catch (IOException) when (Directory.Exists(template))
        {
            // Another test run published its template first; use that one.
        }
        finally
        {
            ScratchDirectory.Delete(building);
            TemplateGate.Release();
        }
        return template;
    }

    private async Task MakeDirectoryAsync(string directory)
    {
        if (!runAsPostgresUser)
        {
            Directory.CreateDirectory(directory);
            return;
        }
        var (exitCode, output) = await ProcessRunner.RunAsync(ScratchDirectory.Root, CommandTimeout,
            _runuser!, "-u", "postgres", "--", "mkdir", "-m", "0700", directory).ConfigureAwait(false);
        if (exitCode != 0)
        {
            throw new InvalidOperationException(output.Contains("does not exist", StringComparison.Ordinal)
                ? ServerBinaries.PostgresUserMissing
                : $"Could not create {directory} as the postgres user: {output}");
        }
    }
}
