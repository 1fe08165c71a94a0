using System.Text;
using FlashDeal.Catalog.Infrastructure;
using FlashDeal.Catalog.Products;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.Data;
using Npgsql;

namespace FlashDeal.Catalog.Deals;

/// <summary>A deal as stored: the proto (state and remaining_stock unset) plus the version its Redis config carries.</summary>
public sealed record DealRow(Deal Deal, long Version)
{
    public Guid DealId => Guid.Parse(Deal.DealId);

    public DateTime StartTime => Deal.StartTime.ToDateTime();

    public DateTime EndTime => Deal.EndTime.ToDateTime();

    public bool Cancelled => Deal.CancelTime is not null;
}

/// <summary>The part of a deal's lifecycle SQL can decide from the clock and the cancel flag alone.</summary>
public enum DealPhase
{
    Upcoming,
    Open,
    Ended,
    Cancelled,
}

/// <summary>SQL for catalog.deals.</summary>
public sealed class DealStore(NpgsqlDataSource dataSource)
{
    private const string Columns = """
        deal_id, product_id, title, product_name, deal_price_cents, list_price_cents, currency, stock, per_user_limit,
        start_time, end_time, create_time, update_time, cancel_time, version
        """;

    /// <summary>
    /// Inserts a deal for a product that <paramref name="checkProduct"/> accepts (it sees the product, or null when
    /// there is none, and throws to refuse). The product row stays share-locked until commit, so ArchiveProduct
    /// cannot slip in between the check and the insert.
    /// </summary>
    public async Task<DealRow> InsertAsync(Guid dealId, Guid productId, Deal input, DateTime now,
        Action<Product?> checkProduct, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        Product? product = null;
        await using (var select = new NpgsqlCommand("""
            SELECT name, list_price_cents, currency, archive_time IS NOT NULL
            FROM catalog.products WHERE product_id = @id FOR SHARE
            """, connection, transaction))
        {
            select.Parameters.AddWithValue("id", productId);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            if (await reader.ReadAsync(cancellationToken))
            {
                product = new Product
                {
                    ProductId = Ids.Format(productId),
                    Name = reader.GetString(0),
                    ListPriceCents = reader.GetInt64(1),
                    Currency = reader.GetString(2),
                    Archived = reader.GetBoolean(3),
                };
            }
        }
        checkProduct(product);
        var deal = new Deal
        {
            DealId = Ids.Format(dealId),
            ProductId = product!.ProductId,
            Title = input.Title,
            ProductName = product.Name,
            DealPriceCents = input.DealPriceCents,
            ListPriceCents = product.ListPriceCents,
            Currency = product.Currency,
            Stock = input.Stock,
            PerUserLimit = input.PerUserLimit,
            StartTime = Times.ToTimestamp(Times.ToUtc(input.StartTime)),
            EndTime = Times.ToTimestamp(Times.ToUtc(input.EndTime)),
            CreateTime = Times.ToTimestamp(now),
            UpdateTime = Times.ToTimestamp(now),
        };
        await using (var insert = new NpgsqlCommand($"""
            INSERT INTO catalog.deals ({Columns})
            VALUES (@deal_id, @product_id, @title, @product_name, @price, @list_price, @currency, @stock, @limit,
                    @start, @end, @now, @now, NULL, 1)
            """, connection, transaction))
        {
            insert.Parameters.AddWithValue("deal_id", dealId);
            insert.Parameters.AddWithValue("product_id", productId);
            insert.Parameters.AddWithValue("product_name", deal.ProductName);
            insert.Parameters.AddWithValue("list_price", deal.ListPriceCents);
            insert.Parameters.AddWithValue("currency", deal.Currency);
            AddTerms(insert, deal);
            insert.Parameters.AddWithValue("now", now);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return new DealRow(deal, 1);
    }

    public async Task<DealRow?> GetAsync(Guid dealId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM catalog.deals WHERE deal_id = @id");
        command.Parameters.AddWithValue("id", dealId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    /// <summary>
    /// Locks the deal and lets <paramref name="change"/> check and edit its terms or cancel it; it returns false to
    /// write nothing (an idempotent repeat) and throws to refuse. Every write bumps the version. Null: no such deal.
    /// </summary>
    public async Task<DealRow?> UpdateAsync(Guid dealId, DateTime now, Func<Deal, bool> change,
        CancellationToken cancellationToken, string? cancelReason = null)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        DealRow? row;
        await using (var select = new NpgsqlCommand(
            $"SELECT {Columns} FROM catalog.deals WHERE deal_id = @id FOR UPDATE", connection, transaction))
        {
            select.Parameters.AddWithValue("id", dealId);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            row = await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
        }
        if (row is null)
        {
            return null;
        }
        var deal = row.Deal;
        if (!change(deal))
        {
            return row;
        }
        deal.UpdateTime = Times.ToTimestamp(now);
        await using (var update = new NpgsqlCommand("""
            UPDATE catalog.deals
            SET title = @title, deal_price_cents = @price, stock = @stock, per_user_limit = @limit,
                start_time = @start, end_time = @end, cancel_time = @cancel_time,
                cancel_reason = COALESCE(@cancel_reason, cancel_reason), update_time = @now, version = version + 1
            WHERE deal_id = @id
            RETURNING version
            """, connection, transaction))
        {
            update.Parameters.AddWithValue("id", dealId);
            AddTerms(update, deal);
            update.Parameters.AddWithValue("cancel_time", NpgsqlTypes.NpgsqlDbType.TimestampTz,
                deal.CancelTime is null ? DBNull.Value : (object)Times.ToUtc(deal.CancelTime));
            update.Parameters.AddWithValue("cancel_reason", NpgsqlTypes.NpgsqlDbType.Text, (object?)cancelReason ?? DBNull.Value);
            update.Parameters.AddWithValue("now", now);
            row = new DealRow(deal, (long)(await update.ExecuteScalarAsync(cancellationToken))!);
        }
        await transaction.CommitAsync(cancellationToken);
        return row;
    }

    /// <summary>By start_time, then deal_id; keyset after <paramref name="after"/>; at most <paramref name="limit"/> rows.</summary>
    public async Task<List<DealRow>> ListAsync(IReadOnlySet<DealPhase> phases, Guid? productId, DateTime now,
        PageCursor<DateTime>? after, int limit, CancellationToken cancellationToken)
    {
        var sql = new StringBuilder($"SELECT {Columns} FROM catalog.deals WHERE TRUE");
        await using var command = dataSource.CreateCommand();
        if (productId is { } id)
        {
            sql.Append(" AND product_id = @product_id");
            command.Parameters.AddWithValue("product_id", id);
        }
        if (phases.Count is > 0 and < 4)
        {
            sql.Append(" AND (").AppendJoin(" OR ", phases.Select(PhaseCondition)).Append(')');
            command.Parameters.AddWithValue("now", now);
        }
        if (after is { } cursor)
        {
            sql.Append(" AND (start_time, deal_id) > (@after_time, @after_id)");
            command.Parameters.AddWithValue("after_time", cursor.SortKey);
            command.Parameters.AddWithValue("after_id", cursor.Id);
        }
        sql.Append(" ORDER BY start_time, deal_id LIMIT @limit");
        command.Parameters.AddWithValue("limit", limit);
        command.CommandText = sql.ToString();
        return await ReadAllAsync(command, cancellationToken);
    }

    /// <summary>
    /// The deals a sale's visitors list: neither cancelled nor ended at <paramref name="now"/> (upcoming and open), in
    /// listing order, at most <paramref name="limit"/>.
    /// </summary>
    public async Task<List<DealRow>> ListCurrentAsync(DateTime now, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT {Columns} FROM catalog.deals
            WHERE cancel_time IS NULL AND end_time > @now
            ORDER BY start_time, deal_id LIMIT @limit
            """);
        command.Parameters.AddWithValue("now", now);
        command.Parameters.AddWithValue("limit", limit);
        return await ReadAllAsync(command, cancellationToken);
    }

    /// <summary>Deals the order path may need soon: not ended, starting before <paramref name="horizon"/> (cancelled too).</summary>
    public async Task<List<DealRow>> ListOpeningAsync(DateTime now, DateTime horizon, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT {Columns} FROM catalog.deals
            WHERE start_time <= @horizon AND end_time > @now
            ORDER BY start_time, deal_id
            """);
        command.Parameters.AddWithValue("now", now);
        command.Parameters.AddWithValue("horizon", horizon);
        return await ReadAllAsync(command, cancellationToken);
    }

    /// <summary>The current version of each of <paramref name="dealIds"/> that exists.</summary>
    public async Task<Dictionary<Guid, long>> GetVersionsAsync(IReadOnlyCollection<Guid> dealIds,
        CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT deal_id, version FROM catalog.deals WHERE deal_id = ANY(@ids)");
        command.Parameters.AddWithValue("ids", dealIds.ToArray());
        var versions = new Dictionary<Guid, long>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            versions[reader.GetGuid(0)] = reader.GetInt64(1);
        }
        return versions;
    }

    private static string PhaseCondition(DealPhase phase) => phase switch
    {
        DealPhase.Upcoming => "(cancel_time IS NULL AND start_time > @now)",
        DealPhase.Open => "(cancel_time IS NULL AND start_time <= @now AND end_time > @now)",
        DealPhase.Ended => "(cancel_time IS NULL AND end_time <= @now)",
        _ => "(cancel_time IS NOT NULL)",
    };

    private static async Task<List<DealRow>> ReadAllAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var rows = new List<DealRow>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(Read(reader));
        }
        return rows;
    }

    private static void AddTerms(NpgsqlCommand command, Deal deal)
    {
        command.Parameters.AddWithValue("title", deal.Title);
        command.Parameters.AddWithValue("price", deal.DealPriceCents);
        command.Parameters.AddWithValue("stock", deal.Stock);
        command.Parameters.AddWithValue("limit", deal.PerUserLimit);
        command.Parameters.AddWithValue("start", Times.ToUtc(deal.StartTime));
        command.Parameters.AddWithValue("end", Times.ToUtc(deal.EndTime));
    }

    private static DealRow Read(NpgsqlDataReader reader)
    {
        var deal = new Deal
        {
            DealId = Ids.Format(reader.GetGuid(0)),
            ProductId = Ids.Format(reader.GetGuid(1)),
            Title = reader.GetString(2),
            ProductName = reader.GetString(3),
            DealPriceCents = reader.GetInt64(4),
            ListPriceCents = reader.GetInt64(5),
            Currency = reader.GetString(6),
            Stock = reader.GetInt32(7),
            PerUserLimit = reader.GetInt32(8),
            StartTime = Times.ToTimestamp(reader.GetDateTime(9)),
            EndTime = Times.ToTimestamp(reader.GetDateTime(10)),
            CreateTime = Times.ToTimestamp(reader.GetDateTime(11)),
            UpdateTime = Times.ToTimestamp(reader.GetDateTime(12)),
        };
        if (!reader.IsDBNull(13))
        {
            deal.CancelTime = Times.ToTimestamp(reader.GetDateTime(13));
        }
        return new DealRow(deal, reader.GetInt64(14));
    }
}
