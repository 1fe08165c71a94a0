using FlashDeal.Contracts.Events.V1;
using FlashDeal.Orders.Events;
using FlashDeal.Orders.Persistence;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using StackExchange.Redis;

namespace FlashDeal.Orders.Tests.Events;

/// <summary>Reads what the outbox and the event streams hold, independently of the relay, and checks their shape.</summary>
public static class EventLog
{
    public sealed record Recorded(long Sequence, string Subject, string Type);

    public static readonly string Placed = OrderPlaced.Descriptor.FullName;
    public static readonly string Paid = OrderPaid.Descriptor.FullName;
    public static readonly string Cancelled = OrderCancelled.Descriptor.FullName;
    public static readonly string Expired = OrderExpired.Descriptor.FullName;

    public static async Task<List<Recorded>> OutboxAsync(NpgsqlDataSource dataSource, string stream = EventStreams.Orders)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT sequence, subject, type FROM orders.event_outbox WHERE stream = $1 ORDER BY sequence");
        command.Parameters.Add(new NpgsqlParameter { Value = stream });
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<Recorded>();
        while (await reader.ReadAsync())
        {
            rows.Add(new Recorded(reader.GetInt64(0), reader.GetString(1), reader.GetString(2)));
        }
        return rows;
    }

    /// <summary>Every entry of the stream as (entry id, type, key, parsed event), checking the fields agree.</summary>
    public static async Task<List<(string Id, string Type, string Key, Event Event)>> StreamAsync(IDatabase redis,
        string stream = EventStreams.Orders)
    {
        var entries = await redis.StreamRangeAsync(stream);
        return [.. entries.Select(e =>
        {
            var message = Event.Parser.ParseFrom((byte[])e[EventStreams.EventField]!);
            var type = (string)e[EventStreams.TypeField]!;
            Assert.Equal(EventStreams.TypeOf(message), type);
            Assert.Equal(EventStreams.EntryId(message.Sequence), (string)e.Id!);
            return ((string)e.Id!, type, (string)e[EventStreams.KeyField]!, message);
        })];
    }

    /// <summary>Per subject, the types in sequence order.</summary>
    public static Dictionary<string, List<string>> BySubject(IEnumerable<Recorded> rows) =>
        rows.OrderBy(r => r.Sequence).GroupBy(r => r.Subject).ToDictionary(g => g.Key, g => g.Select(r => r.Type).ToList());

    public static EventRelay Relay(NpgsqlDataSource dataSource, IConnectionMultiplexer redis, Action<EventOptions>? configure = null)
    {
        var options = new OrdersOptions();
        configure?.Invoke(options.Events);
        var meters = new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        return new EventRelay(dataSource, redis, new OrdersMetrics(meters), TimeProvider.System, Options.Create(options),
            NullLogger<EventRelay>.Instance);
    }

    public static async Task<OrderStore> MigratedStoreAsync(NpgsqlDataSource dataSource)
    {
        await new Data.SchemaMigrator(dataSource, OrdersMigrations.Set).MigrateAsync();
        return new OrderStore(dataSource);
    }
}
