using FlashDeal.Catalog.Infrastructure;
using FlashDeal.Contracts.Catalog.V1;
using Npgsql;

namespace FlashDeal.Catalog.BestSellers;

/// <summary>The PostgreSQL copy of the rankings (catalog.best_sellers), read when Redis is unavailable.</summary>
public sealed class BestSellerStore(NpgsqlDataSource dataSource)
{
    /// <summary>Replaces one window's rows. Replicas may back up at the same moment: a lock takes them in turn.</summary>
    public async Task ReplaceAsync(BestSellerWindow window, Ranking ranking, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var command = new NpgsqlCommand("""
            SELECT pg_advisory_xact_lock(hashtext('catalog.best_sellers'));
            DELETE FROM catalog.best_sellers WHERE time_window = @window;
            INSERT INTO catalog.best_sellers (time_window, rank, product_id, units_sold, compute_time)
            SELECT @window, e.rank, e.product_id, e.units_sold, @compute_time
            FROM unnest(@product_ids, @units) WITH ORDINALITY AS e(product_id, units_sold, rank);
            """, connection, transaction))
        {
            command.Parameters.AddWithValue("window", BestSellerKeys.Name(window));
            command.Parameters.AddWithValue("product_ids", ranking.Entries.Select(e => e.ProductId).ToArray());
            command.Parameters.AddWithValue("units", ranking.Entries.Select(e => e.UnitsSold).ToArray());
            command.Parameters.AddWithValue("compute_time", Times.Truncate(ranking.ComputeTime));
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// The backed-up top of a window joined with the products (names, pictures, category filter), and when it was
    /// computed (null when nothing is backed up for it).
    /// </summary>
    public async Task<(List<BestSeller> Entries, DateTime? ComputeTime)> ReadAsync(BestSellerWindow window, int limit,
        string category, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT b.product_id, b.units_sold, b.compute_time, p.name, p.image_uri
            FROM catalog.best_sellers b JOIN catalog.products p ON p.product_id = b.product_id
            WHERE b.time_window = @window AND (@category = '' OR p.category = @category)
            ORDER BY b.rank
            LIMIT @limit
            """);
        command.Parameters.AddWithValue("window", BestSellerKeys.Name(window));
        command.Parameters.AddWithValue("category", category);
        command.Parameters.AddWithValue("limit", limit);
        var entries = new List<BestSeller>();
        DateTime? computeTime = null;
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            computeTime ??= reader.GetDateTime(2);
            entries.Add(new BestSeller
            {
                Rank = entries.Count + 1,
                ProductId = Ids.Format(reader.GetGuid(0)),
                UnitsSold = reader.GetInt64(1),
                ProductName = reader.GetString(3),
                ImageUri = reader.GetString(4),
            });
        }
        return (entries, computeTime);
    }
}
