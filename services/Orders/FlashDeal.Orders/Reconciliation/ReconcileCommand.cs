using FlashDeal.Data;
using FlashDeal.Orders.Redis;
using Microsoft.Extensions.Configuration;
using Npgsql;

namespace FlashDeal.Orders.Reconciliation;

/// <summary>
/// <c>orders reconcile [--deal ID]...</c>: prints one line per deal (registry deals and baseline inventory rows) and
/// exits 1 when any deal drifts, 0 otherwise, 2 on bad usage. Reads ConnectionStrings:Postgres and :Redis.
/// </summary>
public static class ReconcileCommand
{
    public const string Verb = "reconcile";

    public static bool IsReconcileCommand(IReadOnlyList<string> args) => args.Count > 0 && args[0] == Verb;

    public static async Task<int> RunAsync(IReadOnlyList<string> args, IConfiguration configuration, TextWriter? output = null,
        CancellationToken cancellationToken = default)
    {
        output ??= Console.Out;
        var deals = new List<Guid>();
        for (var i = 1; i < args.Count; i++)
        {
            if (args[i] == "--deal" && i + 1 < args.Count && Guid.TryParse(args[i + 1], out var dealId))
            {
                deals.Add(dealId);
                i++;
            }
            else if (!args[i].StartsWith("--", StringComparison.Ordinal) || args[i] == "--deal")
            {
                await output.WriteLineAsync($"usage: orders {Verb} [--deal DEAL_ID]...").ConfigureAwait(false);
                return 2;
            }
        }
        var postgres = configuration.GetConnectionString("Postgres");
        var redisConnection = configuration.GetConnectionString("Redis");
        if (string.IsNullOrWhiteSpace(postgres) || string.IsNullOrWhiteSpace(redisConnection))
        {
            await output.WriteLineAsync("ConnectionStrings:Postgres and ConnectionStrings:Redis are required.").ConfigureAwait(false);
            return 2;
        }

        await using var dataSource = NpgsqlDataSource.Create(postgres);
        using var redis = RedisServiceCollectionExtensions.Connect(redisConnection);
        var results = await new Reconciler(redis, dataSource, new StreamRegistry(redis))
            .RunAsync(deals.Count > 0 ? deals : null, cancellationToken).ConfigureAwait(false);
        await output.WriteLineAsync("deal_id                               source    initial  remaining  held  buyer_units  stored_units  orders  unpersisted  drift")
            .ConfigureAwait(false);
        foreach (var r in results)
        {
            var drift = r.HasDrift ? $"DRIFT store={r.StoreDrift} buyers={r.BuyerDrift}" : r.Unpersisted > 0 ? "pending" : "ok";
            await output.WriteLineAsync(
                $"{r.DealId}  {r.Source,-8}  {r.InitialStock,7}  {r.Remaining,9}  {r.Held,4}  {r.BuyerUnits?.ToString() ?? "-",11}  " +
                $"{r.StoredUnits,12}  {r.StoredOrders,6}  {r.Unpersisted,11}  {drift}").ConfigureAwait(false);
        }
        return results.Any(r => r.HasDrift) ? 1 : 0;
    }
}
