using System.Text.RegularExpressions;
using Npgsql;
using Xunit;

namespace FlashDeal.TestInfrastructure;

/// <summary>
/// A real, throw-away PostgreSQL cluster on a free loopback port, tuned for tests (no fsync). Use it as a collection
/// fixture so one server serves a whole test run, and give each test class its own database
/// (<see cref="PostgresDatabase"/> or <see cref="CreateDatabaseAsync"/>). <see cref="StopAsync"/> and
/// <see cref="StartAsync"/> simulate an outage; the port and the data survive a restart.
/// </summary>
public sealed partial class PostgresServer : IAsyncLifetime, IDisposable
{
    public const string Host = "127.0.0.1";
    public const string Username = "app";

    private readonly SemaphoreSlim _gate = new(1, 1);
    private PostgresCluster? _cluster;
    private string? _directory;
    private CrashCleanup? _crashCleanup;
    private int _disposed;

    public PostgresServer() => AppDomain.CurrentDomain.ProcessExit += OnProcessExit;

    public int Port { get; private set; }

    public bool IsRunning { get; private set; }

    /// <summary>Holds the data directory (<c>data/</c>), the server log and the Unix socket.</summary>
    public string Directory => _directory ?? throw new InvalidOperationException("The server has not been started.");

    public string LogFile => Path.Combine(Directory, "postgres.log");

    /// <summary>The maintenance database <c>postgres</c>; tests should use a database of their own.</summary>
    public string ConnectionString => ConnectionStringFor("postgres");

    public string ConnectionStringFor(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = Host,
        Port = Port,
        Username = Username,
        Database = database,
        IncludeErrorDetail = true,
    }.ConnectionString;

    /// <summary>Creates the cluster on first use, then starts the server; does nothing when it is running.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed == 1, this);
            if (IsRunning)
            {
                return;
            }
            if (_directory is null)
            {
                await CreateClusterAsync().ConfigureAwait(false);
            }
            var firstStart = Port == 0;
            for (var attempt = 1; ; attempt++)
            {
                if (firstStart)
                {
                    Port = FreePort.Next();
                }
                var (exitCode, output) = await PgCtlAsync("start", "-w", "-t", "30", "-l", LogFile, "-o", ServerOptions())
                    .ConfigureAwait(false);
                if (exitCode == 0)
                {
                    IsRunning = true;
                    return;
                }
                var log = File.Exists(LogFile) ? await File.ReadAllTextAsync(LogFile, cancellationToken).ConfigureAwait(false) : "";
                if (!(firstStart && attempt < 5 && log.Contains("could not bind", StringComparison.Ordinal)))
                {
                    throw new InvalidOperationException($"PostgreSQL did not start on port {Port}:\n{output}\n{Tail(log)}");
                }
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Stops the server: <c>fast</c> ends sessions and checkpoints, <paramref name="immediate"/> is a crash.</summary>
    public async Task StopAsync(bool immediate = false)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!IsRunning)
            {
                return;
            }
            var (exitCode, output) = await PgCtlAsync("stop", "-w", "-t", "30", "-m", immediate ? "immediate" : "fast")
                .ConfigureAwait(false);
            if (exitCode != 0)
            {
                throw new InvalidOperationException($"PostgreSQL did not stop: {output}");
            }
            IsRunning = false;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>A fresh, empty database (copied from template0); returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string? name = null)
    {
        name ??= $"test_{Guid.NewGuid():N}"[..20];
        if (!DatabaseName().IsMatch(name))
        {
            throw new ArgumentException($"'{name}' is not a plain lower-case database name.", nameof(name));
        }
        // Not pooled: a pooled admin connection would be dead after a simulated outage.
        var admin = new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false }.ConnectionString;
        await using var connection = new NpgsqlConnection(admin);
        await connection.OpenAsync().ConfigureAwait(false);
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\" TEMPLATE template0", connection);
        await command.ExecuteNonQueryAsync().ConfigureAwait(false);
        return ConnectionStringFor(name);
    }

    Task IAsyncLifetime.InitializeAsync() => StartAsync();

    Task IAsyncLifetime.DisposeAsync()
    {
        Dispose();
        return Task.CompletedTask;
    }

    /// <summary>Kills the server (immediate shutdown) and deletes its files.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        if (_directory is not null)
        {
            if (IsRunning)
            {
                _cluster!.Run(_directory, _cluster.PgCtl, "-D", Path.Combine(_directory, "data"), "stop", "-w", "-m", "immediate");
                IsRunning = false;
            }
            ScratchDirectory.Delete(_directory);
        }
        _crashCleanup?.Dispose();
    }

    private async Task CreateClusterAsync()
    {
        _cluster = new PostgresCluster(ServerBinaries.FindPostgresBin(), Environment.IsPrivilegedProcess);
        var directory = ScratchDirectory.NewPath("flashdeal-pg");
        try
        {
            await _cluster.CreateAsync(directory).ConfigureAwait(false);
        }
        catch
        {
            ScratchDirectory.Delete(directory);
            throw;
        }
        _directory = directory;
        _crashCleanup = new CrashCleanup(directory, """
            p="$1/data/postmaster.pid"
            if [ -f "$p" ]; then
              kill -QUIT "$(head -n 1 "$p")"
              i=0; while [ -f "$p" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
            fi
            """);
    }

    // synchronous_commit stays on: with fsync off it costs only a write() per commit, and turning it off would let
    // StopAsync(immediate: true) lose acknowledged commits, which outage tests must be able to rely on.
    private string ServerOptions() =>
        $"-p {Port} -c listen_addresses={Host} -k {Directory} -c fsync=off -c full_page_writes=off -c max_connections=300";

    private Task<(int ExitCode, string Output)> PgCtlAsync(params string[] arguments) =>
        _cluster!.RunAsync(Directory, _cluster.PgCtl, ["-D", Path.Combine(Directory, "data"), .. arguments]);

    private static string Tail(string log) => string.Join('\n', log.Split('\n').TakeLast(20));

    private void OnProcessExit(object? sender, EventArgs e) => Dispose();

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex DatabaseName();
}
