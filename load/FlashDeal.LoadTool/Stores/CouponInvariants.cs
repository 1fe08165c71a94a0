using System.Collections.Concurrent;
using System.Diagnostics;
using FlashDeal.Load;
using Npgsql;
using StackExchange.Redis;

namespace FlashDeal.LoadTool.Stores;

/// <summary>
/// What the tool saw during a coupon run, thread-safe: which users tried, which coupon each was given (and under which
/// idempotency key), claims sent without an answer. The checks compare it with the stores.
/// </summary>
public sealed class CouponLedger
{
    private readonly ConcurrentDictionary<string, int> _attempts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, string>> _coupons = new(StringComparer.Ordinal);
    private long _uncertain;

    /// <summary>Counts an attempt (a claim with a new key); returns the user's attempts so far, this one included.</summary>
    public int Attempt(string userId) => _attempts.AddOrUpdate(userId, 1, (_, n) => n + 1);

    public int AttemptsOf(string userId) => _attempts.GetValueOrDefault(userId);

    public void Accepted(string userId, string couponId, string idempotencyKey) =>
        _coupons.GetOrAdd(userId, _ => new ConcurrentDictionary<string, string>(StringComparer.Ordinal)).TryAdd(couponId, idempotencyKey);

    /// <summary>A claim given up after its resends: the server may have taken it.</summary>
    public void Uncertain() => Interlocked.Increment(ref _uncertain);

    public int UsersTried => _attempts.Count;

    public long UncertainClaims => Interlocked.Read(ref _uncertain);

    /// <summary>Per user the coupons the service answered with (coupon id → idempotency key).</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Coupons =>
        _coupons.ToDictionary(p => p.Key, p => (IReadOnlyDictionary<string, string>)p.Value, StringComparer.Ordinal);
}

/// <summary>
/// After a coupon run: exactly min(coupons, users who tried) claimed, one per user, Redis and PostgreSQL agree, and every
/// coupon the tool was given is stored for the user who claimed it. Counted in the stores (<see cref="CouponStore"/>),
/// never from the service's counters.
/// </summary>
public static class CouponInvariants
{
    public static IReadOnlyList<InvariantResult> Evaluate(int totalCoupons, CouponLedger ledger, CouponSnapshot stores)
    {
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(stores);
        var results = new List<InvariantResult>();
        var rows = stores.PostgresClaims;
        var expected = Math.Min(totalCoupons, ledger.UsersTried);
        results.Add(new InvariantResult("claimed = min(coupons, users)", rows.Count == expected,
            $"{rows.Count} coupons in postgres; {totalCoupons} coupons, {ledger.UsersTried} users tried: {expected} expected"));

        var twice = rows.GroupBy(r => r.UserId, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).Take(5).ToList();
        var toldTwice = ledger.Coupons.Where(p => p.Value.Count > 1).Select(p => p.Key).Take(5).ToList();
        results.Add(new InvariantResult("one coupon per user", twice.Count == 0 && toldTwice.Count == 0,
            twice.Count == 0 && toldTwice.Count == 0
                ? $"{rows.Count} rows, {rows.Select(r => r.UserId).Distinct(StringComparer.Ordinal).Count()} users"
                : $"users with two coupons: in postgres {string.Join(", ", twice)}; answered twice {string.Join(", ", toldTwice)}"));

        var duplicateIds = rows.GroupBy(r => r.CouponId, StringComparer.Ordinal).Count(g => g.Count() > 1);
        results.Add(new InvariantResult("distinct coupon ids", duplicateIds == 0, $"{duplicateIds} coupon ids stored twice"));

        results.Add(stores.RedisRemaining is { } remaining
            ? new InvariantResult("redis remaining = coupons - claimed", remaining == totalCoupons - rows.Count,
                $"remaining {remaining}, {totalCoupons} - {rows.Count} claimed = {totalCoupons - rows.Count}")
            : new InvariantResult("redis remaining = coupons - claimed", false, "the remaining count is missing in Redis"));

        if (stores.RedisClaims is { } claims)
        {
            var inPostgres = rows.Select(r => r.UserId).ToHashSet(StringComparer.Ordinal);
            var onlyRedis = claims.Keys.Where(u => !inPostgres.Contains(u)).Take(5).ToList();
            var onlyPostgres = inPostgres.Where(u => !claims.ContainsKey(u)).Take(5).ToList();
            results.Add(new InvariantResult("redis claims = postgres claims", onlyRedis.Count == 0 && onlyPostgres.Count == 0 && claims.Count == rows.Count,
                $"{claims.Count} users in the redis hash, {rows.Count} rows" +
                (onlyRedis.Count + onlyPostgres.Count == 0 ? "" : $"; only in redis: {string.Join(", ", onlyRedis)}; only in postgres: {string.Join(", ", onlyPostgres)}")));
        }
        else
        {
            results.Add(new InvariantResult("redis claims = postgres claims", rows.Count == 0,
                rows.Count == 0 ? "no claims anywhere" : $"the claims hash is missing in Redis, postgres has {rows.Count} rows"));
        }

        var byCoupon = rows.GroupBy(r => r.CouponId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().UserId, StringComparer.Ordinal);
        var answered = ledger.Coupons.SelectMany(p => p.Value.Keys.Select(c => (User: p.Key, Coupon: c))).ToList();
        var missing = answered.Where(a => !byCoupon.TryGetValue(a.Coupon, out var user) || user != a.User).Take(5).ToList();
        results.Add(new InvariantResult("every coupon answered is in postgres", missing.Count == 0,
            missing.Count == 0
                ? $"{answered.Count} coupons answered, all stored for their user"
                : $"missing or under another user: {string.Join(", ", missing.Select(m => $"{m.Coupon} ({m.User})"))}"));

        // Claims sent without an answer may have been taken: allow that many more rows than answers, never fewer.
        var extra = rows.Count - answered.Count;
        results.Add(new InvariantResult("postgres claims = coupons answered", extra >= 0 && extra <= ledger.UncertainClaims,
            $"{rows.Count} rows, {answered.Count} answered OK, {ledger.UncertainClaims} sent without an answer"));

        if (stores.RedisClaims is { } hash)
        {
            // The hash holds "<idempotency key>:<n>": the key must be the one that was answered with the coupon.
            var wrongKey = ledger.Coupons
                .Where(p => p.Value.Count == 1 && hash.TryGetValue(p.Key, out var value) && !value.StartsWith(p.Value.Values.Single() + ":", StringComparison.Ordinal))
                .Select(p => p.Key).Take(5).ToList();
            results.Add(new InvariantResult("redis claim keys = answered keys", wrongKey.Count == 0,
                wrongKey.Count == 0 ? "every user's stored key is the key answered OK" : $"other keys stored for {string.Join(", ", wrongKey)}"));
        }
        return results;
    }

    /// <summary>Reads the stores (polling until every answered coupon is in PostgreSQL or the bound passes) and evaluates.</summary>
    public static async Task<IReadOnlyList<InvariantResult>> CheckAsync(string postgres, string redis, Guid campaignId,
        int totalCoupons, CouponLedger ledger, TimeSpan drainTimeout, CancellationToken cancellationToken)
    {
        await using var database = NpgsqlDataSource.Create(postgres);
        using var connection = await ConnectionMultiplexer.ConnectAsync(redis);
        var answered = ledger.Coupons.Sum(p => p.Value.Count);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var snapshot = await CouponStore.ReadAsync(database, connection.GetDatabase(), campaignId, cancellationToken);
            if (snapshot.PostgresClaims.Count >= answered || clock.Elapsed >= drainTimeout)
            {
                return Evaluate(totalCoupons, ledger, snapshot);
            }
            await Task.Delay(100, cancellationToken);
        }
    }
}
