using FlashDeal.Contracts.Auth.V1;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.Grpc;
using FlashDeal.Grpc.Testing.V1;
using Microsoft.Extensions.DependencyInjection;

namespace FlashDeal.Security.Tests.IntegrationTests;

/// <summary>The interceptor end to end: real h2c calls to a host wired with AddFlashDealAuthentication.</summary>
public sealed class AuthInterceptorTests : IAsyncLifetime
{
    private const string GetMe = "/flashdeal.auth.v1.AuthService/GetMe";
    private const string LogOut = "/flashdeal.auth.v1.AuthService/LogOut";
    private const string CreateProduct = "/flashdeal.catalog.v1.CatalogService/CreateProduct";
    private const string GetProduct = "/flashdeal.catalog.v1.CatalogService/GetProduct";
    private const string WatchDeal = "/flashdeal.catalog.v1.CatalogService/WatchDeal";
    private const string Echo = "/flashdeal.testing.v1.EchoService/Echo";

    private SecuredServerHost _host = null!;
    private GrpcTestClient _client = null!;

    public async Task InitializeAsync()
    {
        _host = await SecuredServerHost.StartAsync();
        _client = new GrpcTestClient(_host.GrpcAddress);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _host.DisposeAsync();
    }

    private string Bearer(Role role, TimeProvider? time = null)
    {
        var issuer = time is null
            ? _host.Services.GetRequiredService<AccessTokenIssuer>()
            : new AccessTokenIssuer(_host.Services.GetRequiredService<SigningKeySet>(),
                _host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<AuthOptions>>().Value, time);
        return "Bearer " + issuer.Issue(role == Role.Admin ? "admin-1" : "user-1", "ada@example.com", role).Token;
    }

    private static void AssertRefused<T>(GrpcCallResult<T> result, StatusCode code, string reason)
    {
        Assert.Equal(code, result.Code);
        Assert.NotNull(result.ErrorInfo);
        Assert.Equal(reason, result.ErrorInfo.Reason);
        Assert.Equal("auth.flashdeal.dev", result.ErrorInfo.Domain);
        Assert.Empty(result.Responses);
    }

    [Fact]
    public async Task PublicEchoWorksWithAndWithoutAToken()
    {
        var anonymous = await _client.CallAsync<EchoResponse>(Echo, new EchoRequest { Message = "hi" });
        var withToken = await _client.CallAsync<EchoResponse>(Echo, new EchoRequest { Message = "hi" }, Bearer(Role.Customer));

        Assert.Equal("hi", anonymous.Response.Message);
        Assert.Equal("hi", withToken.Response.Message);
    }

    [Fact]
    public async Task PublicMethodTreatsARefusedTokenAsAnonymous()
    {
        var result = await _client.CallAsync<GetProductResponse>(GetProduct, new GetProductRequest { ProductId = "p" },
            "Bearer not.a.token");
        Assert.Equal("anonymous", result.Response.Product.Name);
    }

    [Fact]
    public async Task AllowAnonymousMethodStillSeesTheUser()
    {
        var result = await _client.CallAsync<GetProductResponse>(GetProduct, new GetProductRequest { ProductId = "p" },
            Bearer(Role.Customer));
        Assert.Equal("user-1", result.Response.Product.Name);
    }

    [Fact]
    public async Task AuthorizedMethodReturnsTheCallerOfAValidToken()
    {
        var result = await _client.CallAsync<GetMeResponse>(GetMe, new GetMeRequest(), Bearer(Role.Customer));

        var user = result.Response.User;
        Assert.Equal("user-1", user.UserId);
        Assert.Equal("ada@example.com", user.Email);
        Assert.Equal(Role.Customer, user.Role);
        Assert.Equal("user-1", user.DisplayName); // HttpContext.User.Identity.Name, from the `sub` claim
    }

    [Fact]
    public async Task AuthorizedMethodWithoutTokenIsUnauthenticatedWithTokenMissing()
    {
        AssertRefused(await _client.CallAsync<GetMeResponse>(GetMe, new GetMeRequest()),
            StatusCode.Unauthenticated, "ACCESS_TOKEN_MISSING");
    }

    [Fact]
    public async Task ExpiredTokenIsUnauthenticatedWithTokenExpired()
    {
        var tenMinutesAgo = new ManualTimeProvider(DateTimeOffset.UtcNow.AddMinutes(-10));
        AssertRefused(await _client.CallAsync<GetMeResponse>(GetMe, new GetMeRequest(), Bearer(Role.Customer, tenMinutesAgo)),
            StatusCode.Unauthenticated, "ACCESS_TOKEN_EXPIRED");
    }

    [Theory]
    [InlineData("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1c2VyLTEiLCJyb2xlIjoiYWRtaW4ifQ.")]
    [InlineData("Bearer garbage")]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("Bearer ")]
    public async Task InvalidTokenIsUnauthenticatedWithTokenInvalid(string authorization)
    {
        AssertRefused(await _client.CallAsync<GetMeResponse>(GetMe, new GetMeRequest(), authorization),
            StatusCode.Unauthenticated, "ACCESS_TOKEN_INVALID");
    }

    [Fact]
    public async Task TokenFromAnotherIssuerKeyIsUnauthenticated()
    {
        var options = _host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<AuthOptions>>().Value;
        var foreign = new AccessTokenIssuer(new SigningKeySet([SigningKey.Generate("test-key")], "test-key"), options)
            .Issue("admin-1", "", Role.Admin).Token;

        AssertRefused(await _client.CallAsync<CreateProductResponse>(CreateProduct, new CreateProductRequest(), "Bearer " + foreign),
            StatusCode.Unauthenticated, "ACCESS_TOKEN_INVALID");
    }

    [Fact]
    public async Task AdminMethodRefusesACustomerWithPermissionDenied()
    {
        AssertRefused(await _client.CallAsync<CreateProductResponse>(CreateProduct, new CreateProductRequest(), Bearer(Role.Customer)),
            StatusCode.PermissionDenied, "ADMIN_ROLE_REQUIRED");
    }

    [Fact]
    public async Task AdminMethodWithoutTokenIsUnauthenticatedNotDenied()
    {
        AssertRefused(await _client.CallAsync<CreateProductResponse>(CreateProduct, new CreateProductRequest()),
            StatusCode.Unauthenticated, "ACCESS_TOKEN_MISSING");
    }

    [Fact]
    public async Task AdminMethodAcceptsAnAdmin()
    {
        var request = new CreateProductRequest { Product = new Product { Name = "Headphones" } };
        var result = await _client.CallAsync<CreateProductResponse>(CreateProduct, request, Bearer(Role.Admin));
        Assert.Equal("Headphones", result.Response.Product.Name);
    }

    [Fact]
    public async Task StreamingMethodIsGuardedToo()
    {
        AssertRefused(await _client.CallAsync<WatchDealResponse>(WatchDeal, new WatchDealRequest()),
            StatusCode.Unauthenticated, "ACCESS_TOKEN_MISSING");
        AssertRefused(await _client.CallAsync<WatchDealResponse>(WatchDeal, new WatchDealRequest(), Bearer(Role.Customer)),
            StatusCode.PermissionDenied, "ADMIN_ROLE_REQUIRED");
        var ok = await _client.CallAsync<WatchDealResponse>(WatchDeal, new WatchDealRequest(), Bearer(Role.Admin));
        Assert.Equal(StatusCode.OK, ok.Code);
        Assert.Single(ok.Responses);
    }

    [Fact]
    public async Task HandlerCallingRequireUserGetsTheRefusalReason()
    {
        var tenMinutesAgo = new ManualTimeProvider(DateTimeOffset.UtcNow.AddMinutes(-10));
        AssertRefused(await _client.CallAsync<LogOutResponse>(LogOut, new LogOutRequest(), Bearer(Role.Customer, tenMinutesAgo)),
            StatusCode.Unauthenticated, "ACCESS_TOKEN_EXPIRED");
        AssertRefused(await _client.CallAsync<LogOutResponse>(LogOut, new LogOutRequest()),
            StatusCode.Unauthenticated, "ACCESS_TOKEN_MISSING");
        Assert.Equal(StatusCode.OK, (await _client.CallAsync<LogOutResponse>(LogOut, new LogOutRequest(), Bearer(Role.Customer))).Code);
    }

    [Fact]
    public async Task AuthServiceValidatesWithItsOwnKeysWithoutFetchingJwks()
    {
        Assert.IsType<SigningKeySet>(_host.Services.GetRequiredService<ISigningKeySource>());
        Assert.Equal(StatusCode.OK, (await _client.CallAsync<GetMeResponse>(GetMe, new GetMeRequest(), Bearer(Role.Customer))).Code);
    }
}
