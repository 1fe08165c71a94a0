using FlashDeal.TestInfrastructure;

namespace FlashDeal.Catalog.Tests;

/// <summary>One PostgreSQL and one Redis for the whole run; classes in this collection run one after another, so a
/// class may stop and restart Redis. Each class hosts the catalog on its own database and flushes Redis first.</summary>
[CollectionDefinition(Name)]
public sealed class DataServers : ICollectionFixture<PostgresServer>, ICollectionFixture<RedisServer>
{
    public const string Name = "data servers";
}
