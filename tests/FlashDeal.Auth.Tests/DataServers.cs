using FlashDeal.TestInfrastructure;

namespace FlashDeal.Auth.Tests;

/// <summary>One PostgreSQL and one Redis for the whole run; classes in this collection run one after another, each with
/// its own database and an empty Redis.</summary>
[CollectionDefinition(Name)]
public sealed class DataServers : ICollectionFixture<PostgresServer>, ICollectionFixture<RedisServer>
{
    public const string Name = "data servers";
}
