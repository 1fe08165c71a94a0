using FlashDeal.Load;
using FlashDeal.LoadTool.Scenarios;
using FlashDeal.LoadTool.Stores;
using FlashDeal.TestInfrastructure;
using Npgsql;
using StackExchange.Redis;

namespace FlashDeal.LoadTool.Tests.IntegrationTests;

/// <summary>A PostgreSQL and a Redis for the coupon checks: the coupon service's tables and keys are written here by hand
/// the way the service stores a claim (CouponStore's names), since the checks must work before and after it exists.</summary>
public sealed class CouponStoresFixture : IAsyncLifetime
{
    private readonly PostgresServer _postgres = new();
    private readonly RedisServer _redis = new();

    public string Postgres { get; private set; } = "";

    public string Redis => _redis.ConnectionString;

    public async Task InitializeAsync()
    {
        await Task.WhenAll(_postgres.StartAsync(), _redis.StartAsync());
        Postgres = await _postgres.CreateDatabaseAsync();
        await using var database = NpgsqlDataSource.Create(Postgres);
        await database.CreateCommand("""
            CREATE SCHEMA orders;
            CREATE TABLE orders.coupons (
                coupon_id text PRIMARY KEY,
                campaign_id uuid NOT NULL,
                user_id text NOT NULL,
                status text NOT NULL DEFAULT 'CLAIMED',
                idempotency_key text NOT NULL,
                UNIQUE (campaign_id, user_id));
            """).ExecuteNonQueryAsync();
    }

    public Task DisposeAsync()
    {
        _redis.Dispose();
        _postgres.Dispose();
        return Task.CompletedTask;
    }
}

// The coupon scenario's checks on real stores: a consistent campaign passes every invariant; a missing row, a claim only
// in Redis, a wrong remaining count, two coupons for one user each turn the right checks red.
public sealed class CouponChecksTests(CouponStoresFixture stores) : IClassFixture<CouponStoresFixture>
{
    private const int Coupons = 5;

    /// <summary>A campaign of 5 coupons claimed by 8 users (users 0-4 got one, 5-7 were refused), stored as the service
    /// would: a row per claim, the remaining count and the claims hash in Redis.</summary>
    private async Task<(Guid Campaign, CouponLedger Ledger)> ClaimedCampaignAsync()
    {
        var campaign = Guid.NewGuid();
        var ledger = new CouponLedger();
        await using var database = NpgsqlDataSource.Create(stores.Postgres);
        using var redis = await ConnectionMultiplexer.ConnectAsync(stores.Redis);
        var db = redis.GetDatabase();
        for (var user = 0; user < 8; user++)
        {
            var userId = $"user-{user}";
            ledger.Attempt(userId);
            ledger.Attempt(userId); // every user came back once with a new key
            if (user < Coupons)
            {
                var coupon = $"coupon-{campaign:N}-{user}";
                var key = $"run-u{user}-v{user}";
                ledger.Accepted(userId, coupon, key);
                await using var insert = database.CreateCommand(
                    "INSERT INTO orders.coupons (coupon_id, campaign_id, user_id, idempotency_key) VALUES ($1, $2, $3, $4)");
                insert.Parameters.AddWithValue(coupon);
                insert.Parameters.AddWithValue(campaign);
                insert.Parameters.AddWithValue(userId);
                insert.Parameters.AddWithValue(key);
                await insert.ExecuteNonQueryAsync();
                await db.HashSetAsync(CouponStore.Claims(campaign), userId, $"{key}:{user + 1}");
            }
        }
        await db.StringSetAsync(CouponStore.Remaining(campaign), 0);
        return (campaign, ledger);
    }

    private async Task<IReadOnlyList<InvariantResult>> CheckAsync(Guid campaign, CouponLedger ledger) =>
        await CouponInvariants.CheckAsync(stores.Postgres, stores.Redis, campaign, Coupons, ledger, TimeSpan.FromMilliseconds(300),
            CancellationToken.None);

    private static void AssertFailed(IReadOnlyList<InvariantResult> results, params string[] names)
    {
        Assert.Equal(names.Order(StringComparer.Ordinal), results.Where(r => !r.Passed).Select(r => r.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task AConsistentCampaignPassesEveryCheck()
    {
        var (campaign, ledger) = await ClaimedCampaignAsync();

        var results = await CheckAsync(campaign, ledger);

        Assert.Equal(8, results.Count);
        Assert.All(results, r => Assert.True(r.Passed, $"{r.Name}: {r.Detail}"));
        Assert.Contains("5 coupons in postgres", results[0].Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMissingRowFailsTheCountsAndTheAgreement()
    {
        var (campaign, ledger) = await ClaimedCampaignAsync();
        await using var database = NpgsqlDataSource.Create(stores.Postgres);
        await using var delete = database.CreateCommand("DELETE FROM orders.coupons WHERE campaign_id = $1 AND user_id = 'user-2'");
        delete.Parameters.AddWithValue(campaign);
        await delete.ExecuteNonQueryAsync();

        AssertFailed(await CheckAsync(campaign, ledger), "claimed = min(coupons, users)", "redis remaining = coupons - claimed",
            "redis claims = postgres claims", "every coupon answered is in postgres", "postgres claims = coupons answered");
    }

    [Fact]
    public async Task AClaimOnlyInRedisOrAWrongRemainingCountFails()
    {
        var (campaign, ledger) = await ClaimedCampaignAsync();
        using var redis = await ConnectionMultiplexer.ConnectAsync(stores.Redis);
        await redis.GetDatabase().HashSetAsync(CouponStore.Claims(campaign), "user-7", "run-u7-v7:6");
        AssertFailed(await CheckAsync(campaign, ledger), "redis claims = postgres claims");

        await redis.GetDatabase().HashDeleteAsync(CouponStore.Claims(campaign), "user-7");
        await redis.GetDatabase().StringSetAsync(CouponStore.Remaining(campaign), 1);
        AssertFailed(await CheckAsync(campaign, ledger), "redis remaining = coupons - claimed");

        await redis.GetDatabase().StringSetAsync(CouponStore.Remaining(campaign), 0);
        await redis.GetDatabase().HashSetAsync(CouponStore.Claims(campaign), "user-1", "someone-elses-key:2");
        AssertFailed(await CheckAsync(campaign, ledger), "redis claim keys = answered keys");
    }

    [Fact]
    public async Task TwoCouponsForOneUserFail()
    {
        var (campaign, ledger) = await ClaimedCampaignAsync();
        // The service answered one user twice with different coupons (what its per-user guard must prevent).
        ledger.Accepted("user-3", "coupon-extra", "run-u3-v99");

        var results = await CheckAsync(campaign, ledger);

        Assert.Contains(results, r => r.Name == "one coupon per user" && !r.Passed && r.Detail.Contains("user-3", StringComparison.Ordinal));
        Assert.Contains(results, r => r.Name == "every coupon answered is in postgres" && !r.Passed);
    }

    [Fact]
    public void FewerClaimsThanMinOfCouponsAndUsersFail()
    {
        var ledger = new CouponLedger();
        foreach (var user in new[] { "a", "b", "c" })
        {
            ledger.Attempt(user);
        }
        ledger.Accepted("a", "c1", "k1");
        var stores = new CouponSnapshot([new StoredClaim("c1", "a")], 9, new Dictionary<string, string> { ["a"] = "k1:1" });

        var results = CouponInvariants.Evaluate(10, ledger, stores);

        // 10 coupons, 3 users tried: 3 claims were due, 1 was stored.
        Assert.False(results.Single(r => r.Name == "claimed = min(coupons, users)").Passed);
        Assert.True(results.Single(r => r.Name == "redis remaining = coupons - claimed").Passed);
    }

    [Fact]
    public void ExpectedRefusalsAreExhaustedAlwaysAndAlreadyClaimedOnlyForAReturningUser()
    {
        Assert.True(CouponScenario.IsExpectedRefusal("COUPONS_EXHAUSTED", 1));
        Assert.True(CouponScenario.IsExpectedRefusal("ALREADY_CLAIMED", 2));
        Assert.False(CouponScenario.IsExpectedRefusal("ALREADY_CLAIMED", 1));
        Assert.False(CouponScenario.IsExpectedRefusal("CAMPAIGN_NOT_STARTED", 3));
        Assert.False(CouponScenario.IsExpectedRefusal("UNAVAILABLE", 3));
    }
}
