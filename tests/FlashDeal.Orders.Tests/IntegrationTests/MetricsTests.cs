using System.Globalization;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using FlashDeal.TestInfrastructure;
using Grpc.Core;
using StackExchange.Redis;

namespace FlashDeal.Orders.Tests.IntegrationTests;

/// <summary>
/// What the orders service exposes at /metrics (Prometheus text, on the REST port) after a small sell-out: placements
/// per live deal and outcome, RED per RPC with the refusal's own code on both transports, transitions, coupon claims by
/// outcome; and no series for a user, a campaign, or a deal id a caller made up.
/// </summary>
[Collection(DataServers.Name)]
public sealed partial class MetricsTests(PostgresDatabase database, RedisServer redis)
    : FreshRedisTest(redis), IClassFixture<PostgresDatabase>
{
    private const string PlaceOrder = "flashdeal.orders.v1.OrderService/PlaceOrder";
    private OrdersHost _host = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _host = await OrdersHost.StartAsync(database.ConnectionString, Server.ConnectionString);
    }

    public override async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await base.DisposeAsync();
    }

    [Fact]
    public async Task ASellOutIsCountedPerLiveDealAndOutcomeWithoutUsers()
    {
        var deal = await new TestDeal { Stock = 5, PerUserLimit = 1 }.WriteAsync(Connection.GetDatabase());
        var users = Enumerable.Range(0, 40).Select(i => $"metrics-buyer-{i:D2}").ToArray();
        var answers = await Task.WhenAll(users.Select(async user =>
        {
            try
            {
                await _host.Client.PlaceAsync(user, deal.DealId, "k-" + user);
                return StatusCode.OK;
            }
            catch (RpcException e)
            {
                return e.StatusCode;
            }
        }));
        Assert.Equal(5, answers.Count(a => a == StatusCode.OK));
        Assert.Equal(35, answers.Count(a => a == StatusCode.FailedPrecondition));
        // A deal id nobody created: refused, and never a series of its own.
        var madeUp = Guid.NewGuid();
        await Assert.ThrowsAsync<RpcException>(() => _host.Client.PlaceAsync("metrics-buyer-00", madeUp, "k-made-up"));
        // One sold-out answer over REST: its code is the handler's, not one guessed from HTTP 400.
        using var rest = new HttpRequestMessage(HttpMethod.Post, "/v1/orders")
        {
            Content = JsonContent.Create(new { dealId = deal.DealId.ToString("D"), idempotencyKey = "rest-late", quantity = 1 }),
        };
        rest.Headers.TryAddWithoutValidation("authorization", TestTokens.Shared.Bearer("metrics-rest-buyer"));
        using (var response = await _host.Http.SendAsync(rest))
        {
            Assert.Equal(400, (int)response.StatusCode);
        }

        var dealId = deal.DealId.ToString("D");
        var text = "";
        await Eventually.HoldsAsync(async () =>
        {
            text = await _host.Http.GetStringAsync("/metrics");
            return Value(text, "flashdeal_orders_placements_total", ("deal_id", dealId), ("outcome", "SOLD_OUT")) == 36;
        }, "the scrape shows the 36 SOLD_OUT answers");

        Assert.Equal(5, Value(text, "flashdeal_orders_placements_total", ("deal_id", dealId), ("outcome", "ACCEPTED")));
        Assert.Equal(1, Value(text, "flashdeal_orders_placements_total", ("deal_id", ""), ("outcome", "DEAL_NOT_FOUND")));
        Assert.Equal(5, Value(text, "flashdeal_rpc_server_duration_seconds_count", ("rpc_method", PlaceOrder),
            ("transport", "grpc"), ("code", "OK"), ("outcome", "ok")));
        Assert.Equal(35, Value(text, "flashdeal_rpc_server_duration_seconds_count", ("rpc_method", PlaceOrder),
            ("transport", "grpc"), ("code", "FAILED_PRECONDITION"), ("outcome", "refused")));
        Assert.Equal(1, Value(text, "flashdeal_rpc_server_duration_seconds_count", ("rpc_method", PlaceOrder),
            ("transport", "rest"), ("code", "FAILED_PRECONDITION"), ("outcome", "refused")));
        Assert.Equal(1, Value(text, "flashdeal_rpc_server_duration_seconds_count", ("rpc_method", PlaceOrder),
            ("transport", "grpc"), ("code", "NOT_FOUND"), ("outcome", "refused")));
        // The standard instrumentation is there too: ASP.NET Core, the runtime, Npgsql's pool.
        Assert.Contains("http_server_request_duration_seconds_bucket", text);
        Assert.Contains("dotnet_gc_collections_total", text);
        Assert.Contains("db_client_connection_max", text);
        // Bounded labels: no user, no made-up deal.
        Assert.DoesNotContain("metrics-buyer", text);
        Assert.DoesNotContain("metrics-rest-buyer", text);
        Assert.DoesNotContain(madeUp.ToString("D"), text);
    }

    [Fact]
    public async Task PaymentsAndCancellationsAreCounted()
    {
        var deal = await new TestDeal().WriteAsync(Connection.GetDatabase());
        var paid = await _host.Client.PlaceAsync("metrics-payer", deal.DealId, "k-pay");
        var cancelled = await _host.Client.PlaceAsync("metrics-canceller", deal.DealId, "k-cancel");

        await _host.Client.PayAsync("metrics-payer", paid.Order.OrderId, "tok_visa");
        await _host.Client.CancelAsync("metrics-canceller", cancelled.Order.OrderId);

        await Eventually.HoldsAsync(async () =>
        {
            var text = await _host.Http.GetStringAsync("/metrics");
            return Value(text, "flashdeal_orders_transitions_total", ("transition", "paid")) == 1
                && Value(text, "flashdeal_orders_transitions_total", ("transition", "cancelled")) == 1;
        }, "one payment and one cancellation are counted");
    }

    [Fact]
    public async Task CouponClaimsAreCountedByOutcomeWithoutCampaignsOrUsers()
    {
        var campaign = await _host.Coupons.CreateAsync(CouponClient.NewCampaign(total: 2));
        var notStarted = await _host.Coupons.CreateAsync(CouponClient.NewCampaign(total: 2,
            start: DateTimeOffset.UtcNow.AddHours(1), end: DateTimeOffset.UtcNow.AddHours(2)));
        var madeUp = Guid.NewGuid().ToString("D");

        var outcomes = new[]
        {
            await _host.Coupons.ClaimAsync("claimer-a", campaign.CampaignId, "k1"),
            await _host.Coupons.ClaimAsync("claimer-a", campaign.CampaignId, "k1"),
            await _host.Coupons.ClaimAsync("claimer-a", campaign.CampaignId, "k2"),
            await _host.Coupons.ClaimAsync("claimer-b", campaign.CampaignId, "k1"),
            await _host.Coupons.ClaimAsync("claimer-c", campaign.CampaignId, "k1"),
            await _host.Coupons.ClaimAsync("claimer-d", campaign.CampaignId, "k1"),
            await _host.Coupons.ClaimAsync("claimer-c", notStarted.CampaignId, "k1"),
            await _host.Coupons.ClaimAsync("claimer-c", madeUp, "k1"),
        };
        Assert.Equal(["", "", "ALREADY_CLAIMED", "", "COUPONS_EXHAUSTED", "COUPONS_EXHAUSTED", "CAMPAIGN_NOT_STARTED",
            "CAMPAIGN_NOT_FOUND"], outcomes.Select(o => o.Reason ?? ""));
        Assert.Equal([false, true], outcomes.Take(2).Select(o => o.Replayed));

        var text = "";
        await Eventually.HoldsAsync(async () =>
        {
            text = await _host.Http.GetStringAsync("/metrics");
            return Value(text, "flashdeal_coupons_claims_total") == 8;
        }, "the scrape shows the eight claims");

        Assert.Equal(2, Value(text, "flashdeal_coupons_claims_total", ("outcome", "CLAIMED")));
        Assert.Equal(1, Value(text, "flashdeal_coupons_claims_total", ("outcome", "REPLAYED")));
        Assert.Equal(1, Value(text, "flashdeal_coupons_claims_total", ("outcome", "ALREADY_CLAIMED")));
        Assert.Equal(2, Value(text, "flashdeal_coupons_claims_total", ("outcome", "COUPONS_EXHAUSTED")));
        Assert.Equal(1, Value(text, "flashdeal_coupons_claims_total", ("outcome", "CAMPAIGN_NOT_STARTED")));
        Assert.Equal(1, Value(text, "flashdeal_coupons_claims_total", ("outcome", "CAMPAIGN_NOT_FOUND")));
        Assert.DoesNotContain("claimer-", text);
        Assert.DoesNotContain(campaign.CampaignId, text);
        Assert.DoesNotContain(madeUp, text);
    }

    /// <summary>The sum of the samples of <paramref name="name"/> whose labels include all of <paramref name="labels"/>.</summary>
    internal static double Value(string text, string name, params (string Name, string Value)[] labels)
    {
        double? sum = null;
        foreach (Match line in Sample().Matches(text))
        {
            if (line.Groups["name"].Value != name)
            {
                continue;
            }
            var present = Label().Matches(line.Groups["labels"].Value)
                .ToDictionary(m => m.Groups["k"].Value, m => m.Groups["v"].Value);
            if (labels.All(l => present.TryGetValue(l.Name, out var v) && v == l.Value))
            {
                sum = (sum ?? 0) + double.Parse(line.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }
        return sum ?? -1;
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>[^}]*)\})? (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex Sample();

    [GeneratedRegex("(?<k>[a-zA-Z_][a-zA-Z0-9_]*)=\"(?<v>[^\"]*)\"")]
    private static partial Regex Label();
}
