using FlashDeal.TestInfrastructure;

namespace FlashDeal.Data.Tests.IntegrationTests;

[Collection(DataServers.Name)]
public sealed class UuidOrderingTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    [Fact]
    public async Task PostgresSortsGeneratedIdsInCreationOrder()
    {
        var ids = Enumerable.Range(0, 2_000).Select(_ => UuidV7Generator.Default.NewGuid()).ToArray();
        await using (var create = database.DataSource.CreateCommand("CREATE TABLE ids (id uuid PRIMARY KEY)"))
        {
            await create.ExecuteNonQueryAsync();
        }
        await using (var insert = database.DataSource.CreateCommand("INSERT INTO ids SELECT unnest(@ids)"))
        {
            insert.Parameters.AddWithValue("ids", ids.OrderBy(_ => Random.Shared.Next()).ToArray());
            await insert.ExecuteNonQueryAsync();
        }

        var sorted = new List<Guid>();
        await using var select = database.DataSource.CreateCommand("SELECT id FROM ids ORDER BY id");
        await using var reader = await select.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            sorted.Add(reader.GetGuid(0));
        }

        Assert.Equal(ids, sorted);
    }
}
