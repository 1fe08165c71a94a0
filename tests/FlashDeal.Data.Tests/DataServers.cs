using FlashDeal.TestInfrastructure;

namespace FlashDeal.Data.Tests;

/// <summary>One PostgreSQL and one Redis for the whole run; classes in this collection run one after another, so a
/// class may stop and restart a server. Each class that needs PostgreSQL takes its own database.</summary>
[CollectionDefinition(Name)]
public sealed class DataServers : ICollectionFixture<PostgresServer>, ICollectionFixture<RedisServer>
{
    public const string Name = "data servers";
}
