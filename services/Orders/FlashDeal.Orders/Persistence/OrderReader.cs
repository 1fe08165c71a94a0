using FlashDeal.Orders.Model;
using FlashDeal.Orders.Redis;
using Microsoft.Extensions.Logging;
using Npgsql;
using StackExchange.Redis;

namespace FlashDeal.Orders.Persistence;

/// <summary>
/// Finds one order wherever it is freshest. PostgreSQL has every order once the stream consumer wrote it (usually within
/// a poll interval); until then, and for the live status of a pending order, the Redis order hash is the truth. An
/// order id alone does not name its deal, so an order not yet in PostgreSQL is looked up in the hashes of the deals in
/// the stream registry (one pipelined HGETALL per active deal; only for orders younger than the consumer's lag).
/// </summary>
public sealed class OrderReader(OrderStore store, IConnectionMultiplexer redis, StreamRegistry registry,
    ILogger<OrderReader> logger)
{
    public async Task<OrderRecord?> FindAsync(Guid orderId, CancellationToken cancellationToken)
    {
        OrderRecord? stored = null;
        var postgresFailed = false;
        try
        {
            stored = await store.GetAsync(orderId, cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException e)
        {
            postgresFailed = true;
            logger.LogWarning("PostgreSQL unavailable while reading order {OrderId}; trying Redis: {Error}", orderId, e.Message);
        }
        if (stored is { IsFinal: true })
        {
            return stored;
        }
        try
        {
            if (stored is not null)
            {
                return await FromRedisAsync(stored.DealId, orderId).ConfigureAwait(false) ?? stored;
            }
            return await SearchRedisAsync(orderId).ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            if (postgresFailed)
            {
                throw;
            }
            logger.LogDebug("Redis unavailable while reading order {OrderId}: {Error}", orderId, e.Message);
            return stored;
        }
    }

    public async Task<OrderRecord?> FromRedisAsync(Guid dealId, Guid orderId)
    {
        var entries = await redis.GetDatabase().HashGetAllAsync(OrderKeys.Order(dealId, orderId)).ConfigureAwait(false);
        return OrderSnapshot.FromHash(entries);
    }

    private async Task<OrderRecord?> SearchRedisAsync(Guid orderId)
    {
        var deals = await registry.ListAsync().ConfigureAwait(false);
        var lookups = deals.Select(deal => FromRedisAsync(deal, orderId)).ToArray();
        var found = await Task.WhenAll(lookups).ConfigureAwait(false);
        return found.FirstOrDefault(o => o is not null);
    }
}
