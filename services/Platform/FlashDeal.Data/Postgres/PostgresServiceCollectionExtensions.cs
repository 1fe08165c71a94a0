using System.Data.Common;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace FlashDeal.Data;

public static class PostgresServiceCollectionExtensions
{
    public const string ConnectionStringName = "Postgres";

    /// <summary>Per replica. Npgsql's default of 100 times services times replicas would exceed PostgreSQL's max_connections.</summary>
    public const int DefaultMaxPoolSize = 20;

    /// <summary>
    /// The pool size a deployment budgets for (env <c>Postgres__MaxPoolSize</c>; the Helm chart sets it per service from
    /// its connection budget). It wins over the connection string's <c>Maximum Pool Size</c>: the string often comes from
    /// a Secret the budget cannot see.
    /// </summary>
    public const string MaxPoolSizeKey = "Postgres:MaxPoolSize";

    /// <summary>
    /// Registers one <see cref="NpgsqlDataSource"/> from <c>ConnectionStrings:Postgres</c> and a "postgres" health check
    /// tagged "ready". Error details (parameter values) reach exceptions and logs only in Development.
    /// </summary>
    public static IServiceCollection AddPostgres(this IServiceCollection services, IConfiguration configuration,
        Action<NpgsqlDataSourceBuilder>? configure = null)
    {
        var connectionString = configuration.GetConnectionString(ConnectionStringName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException(
                $"ConnectionStrings:{ConnectionStringName} is not set (environment: ConnectionStrings__{ConnectionStringName}).");
        }
        services.TryAddSingleton(sp =>
        {
            var builder = new NpgsqlDataSourceBuilder(connectionString);
            ApplyDefaults(builder.ConnectionStringBuilder, connectionString,
                sp.GetService<IHostEnvironment>()?.IsDevelopment() == true, MaxPoolSize(configuration));
            if (sp.GetService<ILoggerFactory>() is { } loggers)
            {
                builder.UseLoggerFactory(loggers);
            }
            configure?.Invoke(builder);
            return builder.Build();
        });
        services.AddHealthChecks()
            .AddCheck<PostgresHealthCheck>("postgres", HealthStatus.Unhealthy, ["ready"], TimeSpan.FromSeconds(5));
        return services;
    }

    /// <summary>
    /// Fills what the connection string leaves open; an explicit setting always wins, except error detail and a
    /// configured <paramref name="maxPoolSize"/> (<see cref="MaxPoolSizeKey"/>).
    /// </summary>
    public static void ApplyDefaults(NpgsqlConnectionStringBuilder builder, string connectionString, bool isDevelopment,
        int? maxPoolSize = null)
    {
        var given = GivenKeys(connectionString);
        if (maxPoolSize is { } configured)
        {
            builder.MaxPoolSize = configured;
            // Npgsql refuses a minimum above the maximum; a string's Minimum Pool Size must not undo the budget.
            builder.MinPoolSize = Math.Min(builder.MinPoolSize, configured);
        }
        else if (!given.Overlaps(["maxpoolsize", "maximumpoolsize"]))
        {
            builder.MaxPoolSize = DefaultMaxPoolSize;
        }
        if (!given.Overlaps(["applicationname"]))
        {
            builder.ApplicationName = Assembly.GetEntryAssembly()?.GetName().Name;
        }
        builder.IncludeErrorDetail = isDevelopment;
        DisableGssEncryptionUnlessGiven(builder, given);
    }

    /// <summary>
    /// Npgsql's default GSS Encryption Mode "Prefer" loads libgssapi_krb5 for every new physical connection and logs a
    /// warning where it is missing (the chiseled runtime images). FlashDeal never uses Kerberos, so the default is
    /// Disable; a connection string that names the setting keeps it.
    /// </summary>
    internal static void DisableGssEncryptionUnlessGiven(NpgsqlConnectionStringBuilder builder, ISet<string> givenKeys)
    {
        if (!givenKeys.Overlaps(["gssencryptionmode", "gssencmode"]))
        {
            builder.GssEncryptionMode = GssEncryptionMode.Disable;
        }
    }

    /// <summary><see cref="MaxPoolSizeKey"/> when set; a value below 1 is a configuration error, not a silent default.</summary>
    public static int? MaxPoolSize(IConfiguration configuration)
    {
        var value = configuration[MaxPoolSizeKey];
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }
        if (!int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture,
            out var size) || size < 1)
        {
            throw new InvalidOperationException(
                $"{MaxPoolSizeKey} is \"{value}\": expected a whole number of connections, at least 1.");
        }
        return size;
    }

    internal static HashSet<string> GivenKeys(string connectionString) =>
        new DbConnectionStringBuilder { ConnectionString = connectionString }.Keys
            .Cast<string>()
            .Select(k => k.Replace(" ", "", StringComparison.Ordinal).ToLowerInvariant())
            .ToHashSet();
}
