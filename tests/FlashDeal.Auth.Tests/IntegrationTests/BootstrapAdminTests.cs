using FlashDeal.Auth.Accounts;
using FlashDeal.Contracts.Auth.V1;
using FlashDeal.TestInfrastructure;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FlashDeal.Auth.Tests.IntegrationTests;

public sealed class BootstrapAdminFixture(PostgresServer postgres, RedisServer redis) : AuthServiceFixture(postgres, redis)
{
    public const string Email = "root@flashdeal.test";
    public const string Password = "bootstrap admin password";

    protected override IReadOnlyDictionary<string, string?> Settings => AdminSettings(" Root@FlashDeal.TEST ", Password);

    public static Dictionary<string, string?> AdminSettings(string email, string password) => new()
    {
        ["Auth:BootstrapAdmin:Email"] = email,
        ["Auth:BootstrapAdmin:Password"] = password,
        ["Auth:BootstrapAdmin:DisplayName"] = "Root",
    };

    public static Task BootstrappedAsync(ServiceTestHost host) =>
        host.Services.GetRequiredService<AdminBootstrap>().Completion.WaitAsync(TimeSpan.FromSeconds(20));
}

[Collection(DataServers.Name)]
public sealed class BootstrapAdminTests(BootstrapAdminFixture service) : IClassFixture<BootstrapAdminFixture>
{
    private readonly AuthClient _client = service.Client;

    [Fact]
    public async Task ConfiguredAdminLogsInWithTheAdminRole()
    {
        await BootstrapAdminFixture.BootstrappedAsync(service.Host);

        var session = await _client.LogInAsync(BootstrapAdminFixture.Email, BootstrapAdminFixture.Password);
        var me = await _client.GetMeAsync(session.Token.AccessToken);

        Assert.Equal(Role.Admin, session.User.Role);
        Assert.Equal("Root", session.User.DisplayName);
        Assert.Equal(Role.Admin, me.User.Role);
        Assert.Equal("admin", RefreshTests.JwtClaimsOf(session.Token.AccessToken).GetProperty("role").GetString());
    }

    [Fact]
    public async Task AdminTokenOpensAnAdminOnlyMethodOfAnotherService()
    {
        await BootstrapAdminFixture.BootstrappedAsync(service.Host);
        var admin = await _client.LogInAsync(BootstrapAdminFixture.Email, BootstrapAdminFixture.Password);
        var customer = await _client.SignUpAsync($"user-{Guid.NewGuid():N}@example.com");
        await using var other = await AdminOnlyServiceHost.StartAsync(new Uri(service.Host.RestAddress, "/.well-known/jwks.json"));

        var created = await other.CreateProductAsync(admin.Token.AccessToken);
        var refused = await Assert.ThrowsAsync<RpcException>(() => other.CreateProductAsync(customer.Token.AccessToken));

        Assert.Equal(BootstrapAdminFixture.Email, created.Product.Name);
        refused.AssertReason(StatusCode.PermissionDenied, AuthErrorReason.AdminRoleRequired);
    }

    [Fact]
    public async Task SignUpNeverGrantsAdmin()
    {
        var session = await _client.SignUpAsync($"user-{Guid.NewGuid():N}@example.com");
        Assert.Equal(Role.Customer, session.User.Role);
        Assert.Equal("customer", RefreshTests.JwtClaimsOf(session.Token.AccessToken).GetProperty("role").GetString());
    }

    [Fact]
    public async Task RestartsKeepOneAdminAndItsPassword()
    {
        await BootstrapAdminFixture.BootstrappedAsync(service.Host);
        var hashBefore = await ScalarAsync<string>("SELECT password_hash FROM auth.users WHERE email = $1", BootstrapAdminFixture.Email);

        await using (var restarted = await service.StartHostAsync(
                         BootstrapAdminFixture.AdminSettings(BootstrapAdminFixture.Email, BootstrapAdminFixture.Password)))
        {
            await BootstrapAdminFixture.BootstrappedAsync(restarted);
        }
        await using (var changedPassword = await service.StartHostAsync(
                         BootstrapAdminFixture.AdminSettings(BootstrapAdminFixture.Email, "a different admin password")))
        {
            await BootstrapAdminFixture.BootstrappedAsync(changedPassword);
        }

        Assert.Equal(1L, await ScalarAsync<long>("SELECT count(*) FROM auth.users WHERE display_name = 'Root' AND role = 'admin'"));
        Assert.Equal(hashBefore,
            await ScalarAsync<string>("SELECT password_hash FROM auth.users WHERE email = $1", BootstrapAdminFixture.Email));
    }

    [Fact]
    public async Task ExistingAccountIsPromotedWhenTheConfiguredPasswordIsItsPassword()
    {
        var email = $"owner-{Guid.NewGuid():N}@example.com";
        await _client.SignUpAsync(email, "the owner's password");

        await using (var host = await service.StartHostAsync(BootstrapAdminFixture.AdminSettings(email, "the owner's password")))
        {
            await BootstrapAdminFixture.BootstrappedAsync(host);
        }

        Assert.Equal(Role.Admin, (await _client.LogInAsync(email, "the owner's password")).User.Role);
    }

    [Fact]
    public async Task ExistingAccountWithAnotherPasswordIsNotPromoted()
    {
        var email = $"squatter-{Guid.NewGuid():N}@example.com";
        await _client.SignUpAsync(email, "the squatter's password");
        var logs = new LogCapture();

        await using (var host = await service.StartHostAsync(BootstrapAdminFixture.AdminSettings(email, "the operator's password"), logs))
        {
            await BootstrapAdminFixture.BootstrappedAsync(host);
        }

        Assert.Equal(Role.Customer, (await _client.LogInAsync(email, "the squatter's password")).User.Role);
        var error = Assert.Single(logs.Entries, e => e.Level == LogLevel.Error && e.Category.EndsWith(nameof(AdminBootstrap)));
        Assert.Contains(email, error.Message);
        Assert.DoesNotContain(logs.Entries, e => e.Everything.Contains("the operator's password"));
    }

    private async Task<T> ScalarAsync<T>(string sql, params object[] parameters)
    {
        await using var command = service.DataSource.CreateCommand(sql);
        foreach (var parameter in parameters)
        {
            command.Parameters.Add(new() { Value = parameter });
        }
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
