using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace FlashDeal.Data;

/// <summary>
/// The <c>migrate</c> verb every service offers (<c>auth migrate up</c>), run by hand, by <c>flashdeal up</c> and as the
/// Kubernetes migration Job. Exit codes: 0 done, 1 failed (or <c>verify</c> found work), 2 bad usage.
/// </summary>
public static class Migrator
{
    public const string Verb = "migrate";

    public const string Usage = """
        usage: <service> migrate [up | down --to VERSION | status | verify] [--connection CONNECTION_STRING]
          up        apply pending migrations (the default)
          down      revert applied migrations above VERSION, newest first (0 reverts everything)
          status    list migrations and their state
          verify    exit 1 unless every migration is applied unchanged
        The connection string comes from --connection, else ConnectionStrings:Postgres (env ConnectionStrings__Postgres).
        """;

    public static bool IsMigrateCommand(IReadOnlyList<string> args) => args.Count > 0 && args[0] == Verb;

    /// <param name="args">The process arguments, with or without the leading <c>migrate</c>.</param>
    /// <param name="configuration">Where <c>ConnectionStrings:Postgres</c> is read; environment variables when null.</param>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, MigrationSet migrations,
        IConfiguration? configuration = null, TextWriter? output = null, CancellationToken cancellationToken = default)
    {
        output ??= Console.Out;
        if (!TryParse(args, out var command, out var target, out var connectionString, out var error))
        {
            await output.WriteLineAsync($"{error}\n{Usage}").ConfigureAwait(false);
            return 2;
        }
        connectionString ??= (configuration ?? new ConfigurationBuilder().AddEnvironmentVariables().Build())
            .GetConnectionString("Postgres");
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            await output.WriteLineAsync($"No connection string: pass --connection or set ConnectionStrings__Postgres.\n{Usage}")
                .ConfigureAwait(false);
            return 2;
        }

        var builder = new NpgsqlDataSourceBuilder(connectionString);
        builder.ConnectionStringBuilder.ApplicationName ??= $"flashdeal-migrate-{migrations.Schema}";
        PostgresServiceCollectionExtensions.DisableGssEncryptionUnlessGiven(builder.ConnectionStringBuilder,
            PostgresServiceCollectionExtensions.GivenKeys(connectionString));
        await using var dataSource = builder.Build();
        var migrator = new SchemaMigrator(dataSource, migrations, new WriterLogger(output));
        try
        {
            switch (command)
            {
                case "up":
                    var applied = await migrator.MigrateAsync(cancellationToken).ConfigureAwait(false);
                    var version = await CurrentVersionAsync(migrator, cancellationToken).ConfigureAwait(false);
                    await output.WriteLineAsync(applied.Count == 0
                        ? $"{migrations.Schema}: up to date at version {version}"
                        : $"{migrations.Schema}: applied {applied.Count}, now at version {version}").ConfigureAwait(false);
                    return 0;
                case "down":
                    var reverted = await migrator.RollbackToAsync(target, cancellationToken).ConfigureAwait(false);
                    await output.WriteLineAsync($"{migrations.Schema}: reverted {reverted.Count}, now at version " +
                        $"{await CurrentVersionAsync(migrator, cancellationToken).ConfigureAwait(false)}").ConfigureAwait(false);
                    return 0;
                default:
                    var states = await migrator.GetStatusAsync(cancellationToken).ConfigureAwait(false);
                    foreach (var s in states)
                    {
                        var when = s.AppliedAt?.ToString("u", CultureInfo.InvariantCulture) ?? "";
                        await output.WriteLineAsync($"{s.Version:D4}  {s.State,-16}  {s.Name,-40}  {when}").ConfigureAwait(false);
                    }
                    var clean = states.All(s => s.State == MigrationState.Applied);
                    return command == "verify" && !clean ? 1 : 0;
            }
        }
        catch (Exception e) when (e is MigrationException or NpgsqlException)
        {
            await output.WriteLineAsync($"{migrations.Schema}: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    private static async Task<long> CurrentVersionAsync(SchemaMigrator migrator, CancellationToken cancellationToken)
    {
        var states = await migrator.GetStatusAsync(cancellationToken).ConfigureAwait(false);
        return states.Where(s => s.State != MigrationState.Pending).Select(s => s.Version).DefaultIfEmpty(0).Max();
    }

    private static bool TryParse(IReadOnlyList<string> args, out string command, out long target,
        out string? connectionString, out string? error)
    {
        command = "up";
        target = -1;
        connectionString = null;
        error = null;
        var rest = args.SkipWhile((a, i) => i == 0 && a == Verb).ToList();
        var commandSeen = false;
        for (var i = 0; i < rest.Count; i++)
        {
            switch (rest[i])
            {
                case "--to" when i + 1 < rest.Count:
                    if (!long.TryParse(rest[++i], NumberStyles.None, CultureInfo.InvariantCulture, out target))
                    {
                        error = $"--to needs a version number, got '{rest[i]}'.";
                        return false;
                    }
                    break;
                case "--connection" when i + 1 < rest.Count:
                    connectionString = rest[++i];
                    break;
                case "up" or "down" or "status" or "verify" when !commandSeen:
                    command = rest[i];
                    commandSeen = true;
                    break;
                default:
                    error = $"Unexpected argument '{rest[i]}'.";
                    return false;
            }
        }
        if (command == "down" && target < 0)
        {
            error = "down needs --to VERSION.";
            return false;
        }
        return true;
    }

    /// <summary>Sends the migrator's progress lines to the command's output.</summary>
    private sealed class WriterLogger(TextWriter output) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception,
            Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                output.WriteLine(formatter(state, exception));
            }
        }
    }
}
