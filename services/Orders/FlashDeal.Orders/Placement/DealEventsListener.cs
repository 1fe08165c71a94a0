using System.Text.RegularExpressions;
using FlashDeal.Data.Redis;
using FlashDeal.Orders.Redis;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace FlashDeal.Orders.Placement;

/// <summary>
/// Drops in-process knowledge about a deal when it changes: catalog's <c>deal-updated</c> messages on
/// <see cref="DealKeys.UpdatesChannel"/> and this service's stock returns on <see cref="OrderKeys.StockReturnedChannel"/>
/// (published by order_transition.lua, so every replica hears it). Any UUID in a message names the deal; the message
/// format of the other service is not parsed beyond that. After a reconnect everything is dropped, since messages
/// sent meanwhile are lost.
/// </summary>
public sealed partial class DealEventsListener(IConnectionMultiplexer redis, IEnumerable<IDealChangeObserver> observers,
    ILogger<DealEventsListener> logger) : IHostedService
{
    private readonly IDealChangeObserver[] _observers = [.. observers];

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var subscriber = redis.GetSubscriber();
        try
        {
            await subscriber.SubscribeAsync(RedisChannel.Literal(DealKeys.UpdatesChannel), (_, message) => OnMessage(message)).ConfigureAwait(false);
            await subscriber.SubscribeAsync(RedisChannel.Literal(OrderKeys.StockReturnedChannel), (_, message) => OnMessage(message))
                .ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // The multiplexer subscribes again once Redis is reachable; until then flags expire by their TTL.
            logger.LogWarning("Subscribing to deal changes failed; retried on reconnect: {Error}", e.Message);
        }
        redis.ConnectionRestored += OnConnectionRestored;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        redis.ConnectionRestored -= OnConnectionRestored;
        try
        {
            await redis.GetSubscriber().UnsubscribeAllAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            logger.LogDebug("Unsubscribing from deal changes failed: {Error}", e.Message);
        }
    }

    private void OnMessage(RedisValue message)
    {
        foreach (Match match in UuidPattern().Matches((string?)message ?? ""))
        {
            var dealId = Guid.Parse(match.ValueSpan);
            foreach (var observer in _observers)
            {
                observer.DealChanged(dealId);
            }
        }
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        foreach (var observer in _observers)
        {
            observer.AllChanged();
        }
    }

    [GeneratedRegex("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")]
    private static partial Regex UuidPattern();
}

/// <summary>Something that caches per-deal knowledge in-process.</summary>
public interface IDealChangeObserver
{
    void DealChanged(Guid dealId);

    void AllChanged();
}
