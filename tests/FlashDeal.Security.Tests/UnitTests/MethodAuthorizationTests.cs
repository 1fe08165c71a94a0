using FlashDeal.Contracts.Auth.V1;
using Microsoft.AspNetCore.Authorization;

namespace FlashDeal.Security.Tests.UnitTests;

public sealed class MethodAuthorizationTests
{
    [Fact]
    public void MethodsWithoutAttributesArePublic()
    {
        var requirement = MethodAuthorization.For(typeof(Plain), typeof(Plain).GetMethod(nameof(Plain.Open)));
        Assert.False(requirement.RequiresUser);
    }

    [Fact]
    public void ClassAndMethodRolesMustAllHold()
    {
        var requirement = MethodAuthorization.For(typeof(Guarded), typeof(Guarded).GetMethod(nameof(Guarded.Both)));

        Assert.True(requirement.RequiresUser);
        Assert.Equal([["admin", "customer"], ["admin"]], requirement.RoleSets);
    }

    [Fact]
    public void AllowAnonymousWinsOverClassAuthorize()
    {
        var requirement = MethodAuthorization.For(typeof(Guarded), typeof(Guarded).GetMethod(nameof(Guarded.Open)));
        Assert.False(requirement.RequiresUser);
    }

    [Fact]
    public void UnimplementedMethodKeepsTheClassRequirement()
    {
        Assert.True(MethodAuthorization.For(typeof(Guarded), method: null).RequiresUser);
    }

    [Fact]
    public void PoliciesAreRefusedAtBindingTime()
    {
        var error = Assert.Throws<InvalidOperationException>(
            () => MethodAuthorization.For(typeof(Plain), typeof(Plain).GetMethod(nameof(Plain.WithPolicy))));
        Assert.Contains("Plain.WithPolicy", error.Message);
    }

    [Fact]
    public void ReasonNamesComeFromTheProtoEnum()
    {
        Assert.Equal("ACCESS_TOKEN_EXPIRED", AuthErrors.ReasonName(AuthErrorReason.AccessTokenExpired));
        Assert.Equal("ADMIN_ROLE_REQUIRED", AuthErrors.ReasonName(AuthErrorReason.AdminRoleRequired));
    }

    private sealed class Plain
    {
        public void Open() { }

        [Authorize(Policy = "Gold")]
        public void WithPolicy() { }
    }

    [Authorize(Roles = "admin, customer")]
    private sealed class Guarded
    {
        [Authorize(Roles = Roles.Admin)]
        public void Both() { }

        [AllowAnonymous]
        public void Open() { }
    }
}
