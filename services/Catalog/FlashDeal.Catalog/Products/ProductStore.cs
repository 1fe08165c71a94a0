using System.Text;
using FlashDeal.Catalog.Infrastructure;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.Data;
using Npgsql;

namespace FlashDeal.Catalog.Products;

/// <summary>SQL for catalog.products. Rows map straight to the proto <see cref="Product"/>.</summary>
public sealed class ProductStore(NpgsqlDataSource dataSource)
{
    private const string Columns =
        "product_id, name, description, category, list_price_cents, currency, image_uri, create_time, update_time, archive_time";

    public async Task InsertAsync(Guid productId, Product product, DateTime now, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            INSERT INTO catalog.products ({Columns})
            VALUES (@id, @name, @description, @category, @price, @currency, @image, @now, @now, NULL)
            """);
        command.Parameters.AddWithValue("id", productId);
        AddFields(command, product);
        command.Parameters.AddWithValue("currency", product.Currency);
        command.Parameters.AddWithValue("now", now);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<Product?> GetAsync(Guid productId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM catalog.products WHERE product_id = @id");
        command.Parameters.AddWithValue("id", productId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    /// <summary>
    /// Locks the row, lets <paramref name="change"/> check and edit it (it may throw to refuse), writes it back.
    /// Null when there is no such product.
    /// </summary>
    public async Task<Product?> UpdateAsync(Guid productId, DateTime now, Action<Product> change,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var product = await LockAsync(connection, transaction, productId, cancellationToken);
        if (product is null)
        {
            return null;
        }
        change(product);
        await using (var command = new NpgsqlCommand("""
            UPDATE catalog.products
            SET name = @name, description = @description, category = @category, list_price_cents = @price,
                image_uri = @image, update_time = @now
            WHERE product_id = @id
            """, connection, transaction))
        {
            command.Parameters.AddWithValue("id", productId);
            AddFields(command, product);
            command.Parameters.AddWithValue("now", now);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        product.UpdateTime = Times.ToTimestamp(now);
        return product;
    }

    /// <summary>
    /// Sets archive_time once (idempotent). <paramref name="check"/> sees the locked product and whether an upcoming or
    /// open deal sells it. The lock orders this against CreateDeal, which locks the product too.
    /// </summary>
    public async Task<Product?> ArchiveAsync(Guid productId, DateTime now, Action<Product, bool> check,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var product = await LockAsync(connection, transaction, productId, cancellationToken);
        if (product is null)
        {
            return null;
        }
        bool hasActiveDeals;
        await using (var command = new NpgsqlCommand("""
            SELECT EXISTS (SELECT 1 FROM catalog.deals WHERE product_id = @id AND cancel_time IS NULL AND end_time > @now)
            """, connection, transaction))
        {
            command.Parameters.AddWithValue("id", productId);
            command.Parameters.AddWithValue("now", now);
            hasActiveDeals = (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
        }
        check(product, hasActiveDeals);
        if (!product.Archived)
        {
            await using var command = new NpgsqlCommand(
                "UPDATE catalog.products SET archive_time = @now, update_time = @now WHERE product_id = @id",
                connection, transaction);
            command.Parameters.AddWithValue("id", productId);
            command.Parameters.AddWithValue("now", now);
            await command.ExecuteNonQueryAsync(cancellationToken);
            product.Archived = true;
            product.ArchiveTime = Times.ToTimestamp(now);
            product.UpdateTime = Times.ToTimestamp(now);
        }
        await transaction.CommitAsync(cancellationToken);
        return product;
    }

    /// <summary>Newest first; keyset on (create_time, product_id); <paramref name="limit"/> rows at most.</summary>
    public async Task<List<Product>> ListAsync(ProductFilter filter, PageCursor<DateTime>? after, int limit,
        CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand();
        var sql = Where(new StringBuilder($"SELECT {Columns} FROM catalog.products"), command, filter);
        if (after is { } cursor)
        {
            sql.Append(" AND (create_time, product_id) < (@after_time, @after_id)");
            command.Parameters.AddWithValue("after_time", cursor.SortKey);
            command.Parameters.AddWithValue("after_id", cursor.Id);
        }
        sql.Append(" ORDER BY create_time DESC, product_id DESC LIMIT @limit");
        command.Parameters.AddWithValue("limit", limit);
        command.CommandText = sql.ToString();

        var products = new List<Product>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            products.Add(Read(reader));
        }
        return products;
    }

    /// <summary>How many products <paramref name="filter"/> matches (ListProducts' total_size).</summary>
    public async Task<int> CountAsync(ProductFilter filter, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand();
        command.CommandText = Where(new StringBuilder("SELECT count(*) FROM catalog.products"), command, filter).ToString();
        return (int)(long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Appends the WHERE clause of <paramref name="filter"/> (and its parameters) that listing and counting share.</summary>
    private static StringBuilder Where(StringBuilder sql, NpgsqlCommand command, ProductFilter filter)
    {
        sql.Append(" WHERE TRUE");
        if (!filter.IncludeArchived)
        {
            sql.Append(" AND archive_time IS NULL");
        }
        if (filter.Category.Length > 0)
        {
            sql.Append(" AND category = @category");
            command.Parameters.AddWithValue("category", filter.Category);
        }
        if (filter.Query.Length > 0)
        {
            sql.Append(" AND (name ILIKE @pattern OR description ILIKE @pattern)");
            command.Parameters.AddWithValue("pattern", "%" + EscapeLike(filter.Query) + "%");
        }
        return sql;
    }

    /// <summary>Several products by id, e.g. to name the entries of a ranking; unknown ids are left out.</summary>
    public async Task<Dictionary<Guid, Product>> GetManyAsync(IReadOnlyCollection<Guid> productIds,
        CancellationToken cancellationToken)
    {
        var products = new Dictionary<Guid, Product>();
        if (productIds.Count == 0)
        {
            return products;
        }
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM catalog.products WHERE product_id = ANY(@ids)");
        command.Parameters.AddWithValue("ids", productIds.ToArray());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            products[reader.GetGuid(0)] = Read(reader);
        }
        return products;
    }

    internal static async Task<Product?> LockAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid productId,
        CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            $"SELECT {Columns} FROM catalog.products WHERE product_id = @id FOR UPDATE", connection, transaction);
        command.Parameters.AddWithValue("id", productId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    /// <summary>LIKE treats %, _ and the escape character \ specially; the query is plain text.</summary>
    internal static string EscapeLike(string text) =>
        text.Replace(@"\", @"\\", StringComparison.Ordinal)
            .Replace("%", @"\%", StringComparison.Ordinal)
            .Replace("_", @"\_", StringComparison.Ordinal);

    private static void AddFields(NpgsqlCommand command, Product product)
    {
        command.Parameters.AddWithValue("name", product.Name);
        command.Parameters.AddWithValue("description", product.Description);
        command.Parameters.AddWithValue("category", product.Category);
        command.Parameters.AddWithValue("price", product.ListPriceCents);
        command.Parameters.AddWithValue("image", product.ImageUri);
    }

    private static Product Read(NpgsqlDataReader reader)
    {
        var product = new Product
        {
            ProductId = Ids.Format(reader.GetGuid(0)),
            Name = reader.GetString(1),
            Description = reader.GetString(2),
            Category = reader.GetString(3),
            ListPriceCents = reader.GetInt64(4),
            Currency = reader.GetString(5),
            ImageUri = reader.GetString(6),
            CreateTime = Times.ToTimestamp(reader.GetDateTime(7)),
            UpdateTime = Times.ToTimestamp(reader.GetDateTime(8)),
        };
        if (!reader.IsDBNull(9))
        {
            product.Archived = true;
            product.ArchiveTime = Times.ToTimestamp(reader.GetDateTime(9));
        }
        return product;
    }
}

/// <summary>ListProducts filters; all of them shape the page-token scope.</summary>
public sealed record ProductFilter(string Query, string Category, bool IncludeArchived);
