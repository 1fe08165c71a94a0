using FlashDeal.TestInfrastructure;

namespace FlashDeal.Security.Tests;

/// <summary>One PostgreSQL and one Redis for the integration tests; classes in this collection run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class DataServers : ICollectionFixture<PostgresServer>, ICollectionFixture<RedisServer>
{
    public const string Name = "data servers";
}
