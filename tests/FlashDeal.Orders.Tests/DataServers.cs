using FlashDeal.TestInfrastructure;

namespace FlashDeal.Orders.Tests;

/// <summary>One PostgreSQL and one Redis for the whole run; classes in this collection run one after another, so a
/// class may flush Redis or stop a server. Each class takes its own database.</summary>
[CollectionDefinition(Name)]
public sealed class DataServers : ICollectionFixture<PostgresServer>, ICollectionFixture<RedisServer>
{
    public const string Name = "data servers";
}
