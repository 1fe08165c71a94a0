using FlashDeal.Data;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace FlashDeal.ServiceDefaults;

public static class DataExtensions
{
    /// <summary>
    /// PostgreSQL for a service that owns <paramref name="migrations"/>. With <c>Database:MigrateOnStart</c> (on by
    /// default in Development) the service applies its pending migrations before it starts serving; in Kubernetes the
    /// migration Job runs <c>&lt;service&gt; migrate up</c> instead.
    /// </summary>
    public static WebApplicationBuilder AddServicePostgres(this WebApplicationBuilder builder, MigrationSet migrations)
    {
        builder.Services.AddPostgres(builder.Configuration);
        builder.Services.AddSingleton(migrations);
        var migrateOnStart = builder.Configuration.GetValue("Database:MigrateOnStart", builder.Environment.IsDevelopment());
        if (migrateOnStart)
        {
            builder.Services.AddHostedService<MigrateOnStart>();
        }
        return builder;
    }

    public static WebApplicationBuilder AddServiceRedis(this WebApplicationBuilder builder)
    {
        builder.Services.AddRedis(builder.Configuration);
        return builder;
    }

    /// <summary>Runs before the server starts listening, so a migrated schema is there before the first call.</summary>
    private sealed class MigrateOnStart(NpgsqlDataSource dataSource, MigrationSet migrations, ILogger<MigrateOnStart> logger)
        : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            var applied = await new SchemaMigrator(dataSource, migrations, logger).MigrateAsync(cancellationToken);
            logger.LogInformation("Schema {Schema}: {Count} migration(s) applied on start", migrations.Schema, applied.Count);
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
