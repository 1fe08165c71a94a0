using FlashDeal.Contracts.Auth.V1;
using FlashDeal.LoadTool.Api;
using FlashDeal.LoadTool.Cli;
using FlashDeal.LoadTool.Scenarios;
using FlashDeal.LoadTool.Tests.Infrastructure;
using Google.Protobuf;

namespace FlashDeal.LoadTool.Tests.UnitTests;

/// <summary>Refresh tokens rotate and a reused one revokes the session: iterations that all see the same expired access
/// token must renew it once, and then use the new one.</summary>
public sealed class TokenRenewalTests
{
    [Fact]
    public async Task ConcurrentIterationsRenewAnExpiredTokenOnce()
    {
        var transport = new RefreshingTransport();
        var context = new ScenarioContext(ToolOptions.Parse(["spike"], _ => null),
            new FlashDealClient(transport, TimeSpan.FromSeconds(1)), TextWriter.Null);
        var user = new UserSession(0, "a@example.com", "user-a", new TokenGrant { AccessToken = "access-0", RefreshToken = "refresh-0" });
        var log = new CallLog();

        var renewed = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => context.Users.RenewAsync(user, "access-0", log, CancellationToken.None)));

        Assert.All(renewed, Assert.True);
        Assert.Equal(1, transport.Refreshes);
        Assert.Equal("access-1", user.AccessToken);
        Assert.Equal("refresh-1", user.RefreshToken);
        Assert.Equal(["refresh"], log.Calls.Select(c => c.Operation));
    }

    [Fact]
    public async Task AFailedRefreshIsReported()
    {
        var transport = new RefreshingTransport { Refuse = true };
        var context = new ScenarioContext(ToolOptions.Parse(["spike"], _ => null),
            new FlashDealClient(transport, TimeSpan.FromSeconds(1)), TextWriter.Null);
        var user = new UserSession(0, "a@example.com", "user-a", new TokenGrant { AccessToken = "access-0", RefreshToken = "refresh-0" });
        var log = new CallLog();

        Assert.False(await context.Users.RenewAsync(user, "access-0", log, CancellationToken.None));
        Assert.Equal("access-0", user.AccessToken);
        Assert.Equal("REFRESH_TOKEN_REUSED", Assert.Single(log.Calls).Outcome);
    }

    /// <summary>Answers only Refresh: rotates "refresh-n" into "access-(n+1)"/"refresh-(n+1)", or refuses.</summary>
    private sealed class RefreshingTransport : IApiTransport
    {
        private int _refreshes;

        public bool Refuse { get; init; }

        public int Refreshes => _refreshes;

        public string Name => "fake";

        public ServiceEndpoints Endpoints { get; } = ServiceEndpoints.All(new Uri("http://127.0.0.1:1"));

        public async Task<TResponse> SendAsync<TRequest, TResponse>(ApiOperation<TRequest, TResponse> operation, TRequest request,
            string? accessToken, TimeSpan timeout, CancellationToken cancellationToken)
            where TRequest : class, IMessage<TRequest>, new()
            where TResponse : class, IMessage<TResponse>, new()
        {
            Assert.Equal("refresh", operation.Name);
            await Task.Delay(20, cancellationToken);
            if (Refuse)
            {
                throw new ApiException("REFRESH_TOKEN_REUSED", "reused");
            }
            var n = Interlocked.Increment(ref _refreshes);
            Assert.Equal($"refresh-{n - 1}", ((RefreshRequest)(object)request).RefreshToken);
            return (TResponse)(object)new RefreshResponse { Token = new TokenGrant { AccessToken = $"access-{n}", RefreshToken = $"refresh-{n}" } };
        }

        public void Dispose()
        {
        }
    }
}
