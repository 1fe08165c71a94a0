using FlashDeal.LoadTool.Api;
using FlashDeal.LoadTool.Tests.Infrastructure;

namespace FlashDeal.LoadTool.Tests.IntegrationTests;

/// <summary>browse, history, login and mix iterations against the real services: every call they make succeeds.</summary>
[Collection(MeshCollection.Name)]
public sealed class ScenarioTests(MeshFixture mesh)
{
    [Theory]
    [InlineData("browse", "grpc")]
    [InlineData("browse", "rest")]
    [InlineData("login", "grpc")]
    [InlineData("login", "rest")]
    [InlineData("history", "grpc")]
    [InlineData("history", "rest")]
    public async Task EveryCallOfTheScenarioSucceeds(string name, string transport)
    {
        var options = ScenarioDriver.Options(mesh, name, transport, "--users", "6", "--user-prefix", $"{name}-{transport}");
        var (scenario, _, client) = ScenarioDriver.Create(options);
        using (client)
        {
            await scenario.SetUpAsync(CancellationToken.None);
            var log = await ScenarioDriver.IterateAsync(scenario, 12, 4);

            Assert.All(log.Calls, c => Assert.True(c.Outcome == Outcomes.Ok, $"{c.Operation}: {c.Outcome}"));
            var expected = name switch
            {
                "browse" => new[] { "list_deals", "get_deal", "list_products", "get_product" },
                "login" => ["login", "get_me", "refresh", "logout"],
                _ => ["list_my_orders", "get_order"],
            };
            Assert.Equal(expected.Order(), log.Calls.Select(c => c.Operation).Distinct().Order());
            Assert.Empty(await scenario.CheckAsync(CancellationToken.None));
        }
    }

    [Fact]
    public async Task MixRunsEachPartByWeightAndChecksTheSpikeDeal()
    {
        var options = ScenarioDriver.Options(mesh, "mix", "grpc", "--users", "8", "--stock", "5", "--opens-in", "1s",
            "--user-prefix", "mix", "--mix", "browse=50,history=20,login=10,spike=20", "--check-timeout", "10s");
        var (scenario, _, client) = ScenarioDriver.Create(options);
        using (client)
        {
            await scenario.SetUpAsync(CancellationToken.None);
            var log = await ScenarioDriver.IterateAsync(scenario, 80, 8);
            var invariants = await scenario.CheckAsync(CancellationToken.None);

            Assert.All(invariants, i => Assert.True(i.Passed, $"{i.Name}: {i.Detail}"));
            Assert.NotEmpty(invariants);
            foreach (var operation in new[] { "list_deals", "login", "list_my_orders", "place_order" })
            {
                Assert.Contains(log.Calls, c => c.Operation == operation);
            }
        }
    }
}
