using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace FlashDeal.Data.Tests.UnitTests;

public class ConnectionSettingsTests
{
    [Fact]
    public void PostgresPoolIsCappedUnlessTheConnectionStringSaysOtherwise()
    {
        Assert.Equal(PostgresServiceCollectionExtensions.DefaultMaxPoolSize, Defaults("Host=db").MaxPoolSize);
        Assert.Equal(7, Defaults("Host=db;Maximum Pool Size=7").MaxPoolSize);
        Assert.Equal(100, Defaults("Host=db;MaxPoolSize=100").MaxPoolSize);
    }

    [Fact]
    public void ConfiguredPoolSizeWinsOverTheConnectionString()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Postgres:MaxPoolSize"] = "4" }).Build();
        var size = PostgresServiceCollectionExtensions.MaxPoolSize(configuration);

        Assert.Equal(4, size);
        Assert.Equal(4, Defaults("Host=db", maxPoolSize: size).MaxPoolSize);
        var given = Defaults("Host=db;Maximum Pool Size=100;Minimum Pool Size=10", maxPoolSize: size);
        Assert.Equal(4, given.MaxPoolSize);
        Assert.Equal(4, given.MinPoolSize);
        Assert.Null(PostgresServiceCollectionExtensions.MaxPoolSize(new ConfigurationBuilder().Build()));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-3")]
    [InlineData("twenty")]
    public void ConfiguredPoolSizeMustBeAPositiveNumber(string value)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Postgres:MaxPoolSize"] = value }).Build();

        var e = Assert.Throws<InvalidOperationException>(() => PostgresServiceCollectionExtensions.MaxPoolSize(configuration));
        Assert.Contains("Postgres:MaxPoolSize", e.Message);
    }

    [Fact]
    public void PostgresErrorDetailIsOnOnlyInDevelopment()
    {
        Assert.False(Defaults("Host=db;Include Error Detail=true").IncludeErrorDetail);
        Assert.True(Defaults("Host=db", isDevelopment: true).IncludeErrorDetail);
    }

    [Fact]
    public void PostgresApplicationNameDefaultsToTheEntryAssembly()
    {
        Assert.False(string.IsNullOrEmpty(Defaults("Host=db").ApplicationName));
        Assert.Equal("auth", Defaults("Host=db;Application Name=auth").ApplicationName);
    }

    [Fact]
    public void PostgresGssEncryptionIsOffUnlessTheConnectionStringSaysOtherwise()
    {
        Assert.Equal(GssEncryptionMode.Disable, Defaults("Host=db").GssEncryptionMode);
        Assert.Equal(GssEncryptionMode.Require, Defaults("Host=db;GSS Encryption Mode=Require").GssEncryptionMode);
        Assert.Equal(GssEncryptionMode.Prefer, Defaults("Host=db;GssEncryptionMode=Prefer").GssEncryptionMode);
    }

    [Fact]
    public void RedisNeverAbortsOnConnectFailAndHasTimeouts()
    {
        var options = RedisServiceCollectionExtensions.CreateOptions("127.0.0.1:6379,abortConnect=true");

        Assert.False(options.AbortOnConnectFail);
        Assert.Equal(3000, options.ConnectTimeout);
        Assert.Equal(2000, options.SyncTimeout);
    }

    [Fact]
    public void RedisTimeoutsFromTheConnectionStringWin()
    {
        var options = RedisServiceCollectionExtensions.CreateOptions("127.0.0.1:6379,connectTimeout=250,syncTimeout=75");

        Assert.Equal(250, options.ConnectTimeout);
        Assert.Equal(75, options.SyncTimeout);
    }

    [Theory]
    [InlineData("Postgres")]
    [InlineData("Redis")]
    public void MissingConnectionStringFailsAtRegistrationNamingTheSetting(string name)
    {
        var services = new ServiceCollection();
        var configuration = new ConfigurationBuilder().Build();

        var e = Assert.Throws<InvalidOperationException>(() =>
            name == "Postgres" ? services.AddPostgres(configuration) : services.AddRedis(configuration));
        Assert.Contains($"ConnectionStrings:{name}", e.Message);
    }

    private static NpgsqlConnectionStringBuilder Defaults(string connectionString, bool isDevelopment = false,
        int? maxPoolSize = null)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        PostgresServiceCollectionExtensions.ApplyDefaults(builder, connectionString, isDevelopment, maxPoolSize);
        return builder;
    }
}
