using FlashDeal.Auth.Accounts;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace FlashDeal.Auth.Tests.UnitTests;

public sealed class AdminBootstrapSettingsTests
{
    private static AdminBootstrap Bootstrap(BootstrapAdminOptions admin) =>
        new(null!, null!, null!, Options.Create(new AuthServiceOptions { BootstrapAdmin = admin }),
            NullLogger<AdminBootstrap>.Instance);

    [Fact]
    public async Task WithoutAnEmailNothingIsBootstrapped()
    {
        var bootstrap = Bootstrap(new BootstrapAdminOptions { Password = "irrelevant" });
        await bootstrap.StartAsync(CancellationToken.None);
        Assert.True(bootstrap.Completion.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task WeakPasswordStopsTheStartWithoutRevealingIt()
    {
        var bootstrap = Bootstrap(new BootstrapAdminOptions { Email = "root@flashdeal.test", Password = "tooshort1" });
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => bootstrap.StartAsync(CancellationToken.None));
        Assert.Contains("Auth:BootstrapAdmin:Password", e.Message);
        Assert.DoesNotContain("tooshort1", e.Message);
    }

    [Theory]
    [InlineData("not an email", "Auth:BootstrapAdmin:Email")]
    [InlineData("root@flashdeal.test", "Auth:BootstrapAdmin:Password")]
    public async Task BadSettingsAreNamed(string email, string setting)
    {
        var bootstrap = Bootstrap(new BootstrapAdminOptions { Email = email });
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => bootstrap.StartAsync(CancellationToken.None));
        Assert.Contains(setting, e.Message);
    }
}
