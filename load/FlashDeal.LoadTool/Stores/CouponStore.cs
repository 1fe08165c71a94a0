using Npgsql;
using StackExchange.Redis;

namespace FlashDeal.LoadTool.Stores;

/// <summary>One stored claim of a campaign: PostgreSQL row or Redis hash entry.</summary>
public sealed record StoredClaim(string CouponId, string UserId);

/// <summary>What the stores hold for one campaign after a run: PostgreSQL's claims, Redis's remaining count and its
/// per-user claims (user id → "&lt;idempotency key&gt;:&lt;n&gt;"). Null when a key is missing.</summary>
public sealed record CouponSnapshot(IReadOnlyList<StoredClaim> PostgresClaims, long? RedisRemaining,
    IReadOnlyDictionary<string, string>? RedisClaims);

/// <summary>
/// The coupon service's storage names, in one place so they are easy to follow when the service changes them
/// (services/Orders, the coupons part of issue 14): PostgreSQL <c>orders.coupons</c> (coupon_id, campaign_id, user_id,
/// status, …; UNIQUE (campaign_id, user_id)) and in Redis, under the hash tag <c>{coupon:&lt;campaign_id&gt;}</c>, the
/// <c>:remaining</c> string and the <c>:claims</c> hash (user id → "&lt;idempotency key&gt;:&lt;n&gt;").
/// </summary>
public static class CouponStore
{
    public const string ClaimsQuery = "SELECT coupon_id::text, user_id::text FROM orders.coupons WHERE campaign_id = $1";

    public static RedisKey Remaining(Guid campaignId) => $"{{coupon:{campaignId:D}}}:remaining";

    public static RedisKey Claims(Guid campaignId) => $"{{coupon:{campaignId:D}}}:claims";

    public static async Task<CouponSnapshot> ReadAsync(NpgsqlDataSource database, IDatabase redis, Guid campaignId,
        CancellationToken cancellationToken)
    {
        var claims = new List<StoredClaim>();
        await using (var command = database.CreateCommand(ClaimsQuery))
        {
            command.Parameters.AddWithValue(campaignId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                claims.Add(new StoredClaim(reader.GetString(0), reader.GetString(1)));
            }
        }
        var remaining = await redis.StringGetAsync(Remaining(campaignId));
        var hash = await redis.HashGetAllAsync(Claims(campaignId));
        return new CouponSnapshot(claims, remaining.IsNull ? null : (long)remaining,
            hash.Length == 0 && !await redis.KeyExistsAsync(Claims(campaignId))
                ? null
                : hash.ToDictionary(e => e.Name.ToString(), e => e.Value.ToString(), StringComparer.Ordinal));
    }
}
