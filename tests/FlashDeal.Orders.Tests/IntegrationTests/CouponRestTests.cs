using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using FlashDeal.TestInfrastructure;
using StackExchange.Redis;

namespace FlashDeal.Orders.Tests.IntegrationTests;

/// <summary>CouponService over REST (JSON transcoding), the paths docs/coupons.md lists.</summary>
[Collection(DataServers.Name)]
public sealed class CouponRestTests(PostgresDatabase database, RedisServer redis) : IClassFixture<PostgresDatabase>, IAsyncLifetime
{
    private OrdersHost _host = null!;

    public async Task InitializeAsync()
    {
        await redis.FlushAllAsync();
        _host = await OrdersHost.StartAsync(database.ConnectionString, redis.ConnectionString);
    }

    public Task DisposeAsync() => _host.DisposeAsync().AsTask();

    private async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpMethod method, string path, string? bearer,
        object? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }
        if (bearer is not null)
        {
            request.Headers.Authorization = AuthenticationHeaderValue.Parse(bearer);
        }
        using var response = await _host.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private static string Admin => TestTokens.Shared.AdminBearer("admin");

    private static string User(string id) => TestTokens.Shared.Bearer(id);

    private static object Campaign(int total = 5, string? start = null) => new
    {
        name = "REST give-away",
        percentOff = 15,
        totalQuantity = total,
        startTime = start ?? DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O"),
        endTime = DateTimeOffset.UtcNow.AddHours(1).ToString("O"),
    };

    [Fact]
    public async Task AnAdminCreatesACampaignAndABuyerClaimsAndReadsTheCoupon()
    {
        var (created, campaign) = await SendAsync(HttpMethod.Post, "/v1/coupon-campaigns", Admin, Campaign());
        Assert.Equal(HttpStatusCode.OK, created);
        var id = campaign.GetProperty("campaign").GetProperty("campaignId").GetString();

        var (claimed, claim) = await SendAsync(HttpMethod.Post, $"/v1/coupon-campaigns/{id}:claim", User("rest-1"),
            new { idempotencyKey = "k1" });
        Assert.Equal(HttpStatusCode.OK, claimed);
        var couponId = claim.GetProperty("coupon").GetProperty("couponId").GetString();
        Assert.Equal("COUPON_STATUS_CLAIMED", claim.GetProperty("coupon").GetProperty("status").GetString());

        var (read, coupon) = await SendAsync(HttpMethod.Get, $"/v1/coupons/{Uri.EscapeDataString(couponId!)}", User("rest-1"));
        Assert.Equal(HttpStatusCode.OK, read);
        Assert.Equal(15, coupon.GetProperty("coupon").GetProperty("percentOff").GetInt32());
        var (publicRead, publicCampaign) = await SendAsync(HttpMethod.Get, $"/v1/coupon-campaigns/{id}", null);
        Assert.Equal(HttpStatusCode.OK, publicRead);
        Assert.Equal(4, publicCampaign.GetProperty("campaign").GetProperty("remainingQuantity").GetInt32());
        var (listed, list) = await SendAsync(HttpMethod.Get, "/v1/coupon-campaigns?pageSize=10", null);
        Assert.Equal(HttpStatusCode.OK, listed);
        Assert.Contains(list.GetProperty("campaigns").EnumerateArray(), c => c.GetProperty("campaignId").GetString() == id);
        await Eventually.HoldsAsync(async () =>
        {
            var (_, mine) = await SendAsync(HttpMethod.Get, "/v1/coupons", User("rest-1"));
            return mine.TryGetProperty("coupons", out var coupons) && coupons.GetArrayLength() == 1;
        }, "ListMyCoupons shows the coupon once PostgreSQL has it");
    }

    [Fact]
    public async Task BadCampaignsAre400WithTheFieldNamed()
    {
        var (status, body) = await SendAsync(HttpMethod.Post, "/v1/coupon-campaigns", Admin,
            new { name = "", percentOff = 0, totalQuantity = 0 });

        Assert.Equal(HttpStatusCode.BadRequest, status);
        var text = body.ToString();
        Assert.Contains("campaign.name", text);
        Assert.Contains("campaign.percent_off", text);
        Assert.Contains("campaign.total_quantity", text);
    }

    [Fact]
    public async Task UnknownCampaignsAre404AndClaimsNeedAToken()
    {
        var unknown = Guid.NewGuid();
        var (status, body) = await SendAsync(HttpMethod.Get, $"/v1/coupon-campaigns/{unknown}", null);
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Contains("CAMPAIGN_NOT_FOUND", body.ToString());
        Assert.Contains("coupons.flashdeal.dev", body.ToString());

        var (claimStatus, claim) = await SendAsync(HttpMethod.Post, $"/v1/coupon-campaigns/{unknown}:claim", User("rest-2"),
            new { idempotencyKey = "k" });
        Assert.Equal(HttpStatusCode.NotFound, claimStatus);
        Assert.Contains("CAMPAIGN_NOT_FOUND", claim.ToString());

        var (anonymous, _) = await SendAsync(HttpMethod.Post, $"/v1/coupon-campaigns/{unknown}:claim", null,
            new { idempotencyKey = "k" });
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous);
        var (customer, _) = await SendAsync(HttpMethod.Post, "/v1/coupon-campaigns", User("rest-3"), Campaign());
        Assert.Equal(HttpStatusCode.Forbidden, customer);
        var (badKey, keyBody) = await SendAsync(HttpMethod.Post, $"/v1/coupon-campaigns/{unknown}:claim", User("rest-2"),
            new { idempotencyKey = "no spaces" });
        Assert.Equal(HttpStatusCode.BadRequest, badKey);
        Assert.Contains("idempotency_key", keyBody.ToString());
    }

    [Fact]
    public async Task ClaimRefusalsKeepTheirReasonOverRest()
    {
        var (_, campaign) = await SendAsync(HttpMethod.Post, "/v1/coupon-campaigns", Admin,
            Campaign(total: 1, start: DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O")));
        var id = campaign.GetProperty("campaign").GetProperty("campaignId").GetString();
        await SendAsync(HttpMethod.Post, $"/v1/coupon-campaigns/{id}:claim", User("first"), new { idempotencyKey = "k" });

        var (status, body) = await SendAsync(HttpMethod.Post, $"/v1/coupon-campaigns/{id}:claim", User("second"),
            new { idempotencyKey = "k" });
        var (again, replay) = await SendAsync(HttpMethod.Post, $"/v1/coupon-campaigns/{id}:claim", User("first"),
            new { idempotencyKey = "k" });

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("COUPONS_EXHAUSTED", body.ToString());
        Assert.Equal(HttpStatusCode.OK, again);
        Assert.True(replay.GetProperty("replayed").GetBoolean());
    }
}
