using FlashDeal.Catalog.Deals;
using FlashDeal.Catalog.Tests.Infrastructure;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.ServiceDefaults;
using FlashDeal.TestInfrastructure;
using Google.Rpc;
using Grpc.Core;

namespace FlashDeal.Catalog.Tests.IntegrationTests;

/// <summary>ListDeals straight from PostgreSQL (the hot deal list off).</summary>
[Collection(DataServers.Name)]
public sealed class DealListingTests(DealListingTests.Fixture catalog)
    : DealListingCases(catalog), IClassFixture<DealListingTests.Fixture>
{
    public sealed class Fixture(PostgresServer postgres, RedisServer redis) : CatalogFixture(postgres, redis);
}

/// <summary>The same cases answered from the hot deal list (loaded after each set-up, which changes rows behind its back).</summary>
[Collection(DataServers.Name)]
public sealed class HotDealListingTests(HotDealListingTests.Fixture catalog)
    : DealListingCases(catalog), IClassFixture<HotDealListingTests.Fixture>
{
    public sealed class Fixture(PostgresServer postgres, RedisServer redis) : CatalogFixture(postgres, redis)
    {
        protected override IReadOnlyDictionary<string, string?> ClassSettings => new Dictionary<string, string?>
        {
            ["Catalog:HotListRefresh"] = "01:00:00",
            ["Catalog:LocalReadTtl"] = "00:01:00",
        };
    }

    protected override async Task SetUpDoneAsync()
    {
        var list = catalog.Service<HotDealList>();
        list.Invalidate();
        Assert.True(await list.LoadAsync(CancellationToken.None));
        Assert.True(list.TryGet(out var deals) && deals.Count > 0);
    }
}

/// <summary>ListDeals: by start time, filtered by live state (which needs the Redis stock) and product, paged.</summary>
public abstract class DealListingCases(CatalogFixture catalog) : IAsyncLifetime
{
    private Product _product = null!;
    private readonly Dictionary<DealState, string> _dealIds = [];

    /// <summary>One deal of the product in each state.</summary>
    public async Task InitializeAsync()
    {
        _product = await catalog.CreateProductAsync();
        var now = DateTime.UtcNow;
        async Task<string> Deal(DealState state, TimeSpan startsIn)
        {
            var deal = await catalog.CreateDealAsync(_product, TimeSpan.FromHours(1) + startsIn, TimeSpan.FromHours(1), stock: 5);
            _dealIds[state] = deal.DealId;
            return deal.DealId;
        }
        await Deal(DealState.Upcoming, TimeSpan.FromMinutes(5));
        var live = await Deal(DealState.Live, TimeSpan.Zero);
        await catalog.MoveDealWindowAsync(live, now.AddMinutes(-10), now.AddHours(1));
        var soldOut = await Deal(DealState.SoldOut, TimeSpan.Zero);
        await catalog.MoveDealWindowAsync(soldOut, now.AddMinutes(-5), now.AddHours(1));
        await catalog.RedisAsync("SET", $"{{deal:{soldOut}}}:stock", "0");
        var ended = await Deal(DealState.Ended, TimeSpan.Zero);
        await catalog.MoveDealWindowAsync(ended, now.AddHours(-3), now.AddHours(-2));
        var cancelled = await Deal(DealState.Cancelled, TimeSpan.FromMinutes(10));
        await catalog.AdminAsync(CatalogMethods.CancelDeal, new CancelDealRequest { DealId = cancelled });
        await SetUpDoneAsync();
    }

    protected virtual Task SetUpDoneAsync() => Task.CompletedTask;

    public Task DisposeAsync() => Task.CompletedTask;

    private async Task<List<Deal>> ListAsync(params DealState[] states)
    {
        var request = new ListDealsRequest { ProductId = _product.ProductId };
        request.States.AddRange(states);
        return [.. (await catalog.CallAsync(CatalogMethods.ListDeals, request)).Deals];
    }

    [Fact]
    public async Task ListsByStartTimeWithStatesComputedLive()
    {
        var all = await ListAsync();
        Assert.Equal([DealState.Ended, DealState.Live, DealState.SoldOut, DealState.Upcoming, DealState.Cancelled],
            all.Select(d => d.State));
        Assert.Equal(0, all.Single(d => d.State == DealState.SoldOut).RemainingStock);
        Assert.Equal(5, all.Single(d => d.State == DealState.Live).RemainingStock);
    }

    [Theory]
    [InlineData(DealState.Live)]
    [InlineData(DealState.SoldOut)]
    [InlineData(DealState.Upcoming)]
    [InlineData(DealState.Ended)]
    [InlineData(DealState.Cancelled)]
    public async Task FiltersByOneState(DealState state)
    {
        var deals = await ListAsync(state);
        Assert.Equal([_dealIds[state]], deals.Select(d => d.DealId));
    }

    [Fact]
    public async Task FiltersBySeveralStatesOverRest()
    {
        var response = await catalog.RestAsync(HttpMethod.Get,
            $"/v1/deals?productId={_product.ProductId}&states=DEAL_STATE_LIVE&states=DEAL_STATE_UPCOMING");
        var deals = (await CatalogFixture.ReadAsync<ListDealsResponse>(response)).Deals;
        Assert.Equal([_dealIds[DealState.Live], _dealIds[DealState.Upcoming]], deals.Select(d => d.DealId));
    }

    /// <summary>Every deal id of the product in <paramref name="states"/>, one per page (at most 10 pages).</summary>
    private async Task<List<string>> PageThroughAsync(params DealState[] states)
    {
        var seen = new List<string>();
        var token = "";
        var pages = 0;
        do
        {
            var request = new ListDealsRequest { ProductId = _product.ProductId, PageSize = 1, PageToken = token };
            request.States.AddRange(states);
            var page = await catalog.CallAsync(CatalogMethods.ListDeals, request);
            seen.AddRange(page.Deals.Select(d => d.DealId));
            token = page.NextPageToken;
        }
        while (token.Length > 0 && ++pages < 10);
        return seen;
    }

    [Fact]
    public async Task PagesThroughFilteredStatesWithoutGapsOrRepeats() =>
        Assert.Equal([_dealIds[DealState.Ended], _dealIds[DealState.Live], _dealIds[DealState.Cancelled]],
            await PageThroughAsync(DealState.Live, DealState.Ended, DealState.Cancelled));

    [Fact]
    public async Task PagesThroughCurrentStatesWithoutGapsOrRepeats() =>
        Assert.Equal([_dealIds[DealState.Live], _dealIds[DealState.SoldOut], _dealIds[DealState.Upcoming]],
            await PageThroughAsync(DealState.Upcoming, DealState.SoldOut, DealState.Live));

    [Fact]
    public async Task RejectsUnknownStatesAndForeignTokens()
    {
        var bad = new ListDealsRequest();
        bad.States.Add(DealState.Unspecified);
        var error = await catalog.FailsAsync(CatalogMethods.ListDeals, bad);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("states", error.GetDetail<BadRequest>()!.FieldViolations.Single().Field);

        var page = await catalog.CallAsync(CatalogMethods.ListDeals,
            new ListDealsRequest { ProductId = _product.ProductId, PageSize = 1 });
        var foreign = await catalog.FailsAsync(CatalogMethods.ListDeals, new ListDealsRequest { PageSize = 1, PageToken = page.NextPageToken });
        Assert.Equal("page_token", foreign.GetDetail<BadRequest>()!.FieldViolations.Single().Field);
    }
}
