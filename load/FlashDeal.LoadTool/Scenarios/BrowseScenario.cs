using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.Load;
using FlashDeal.LoadTool.Api;

namespace FlashDeal.LoadTool.Scenarios;

/// <summary>
/// Anonymous shoppers: each iteration lists the upcoming and live deals, opens one, pages through products (up to three
/// pages) and opens one product. Ids come from what the lists return; set-up seeds a product and a deal if the catalog
/// is empty and an admin account is known.
/// </summary>
public sealed class BrowseScenario(ScenarioContext context) : Scenario(context)
{
    private const int PageSize = 10;
    private const int MaxPages = 3;

    private string[] _dealIds = [];
    private string[] _productIds = [];

    public override string Name => "browse";

    public override IReadOnlyList<StagePlan> DefaultStages(LoadMode mode) => mode == LoadMode.ClosedLoop
        ? [new StagePlan("warm-up", TimeSpan.FromSeconds(5), 16), new StagePlan("sustain", TimeSpan.FromSeconds(20), 64)]
        : [new StagePlan("warm-up", TimeSpan.FromSeconds(5), 50), new StagePlan("sustain", TimeSpan.FromSeconds(20), 200)];

    public override async Task SetUpAsync(CancellationToken cancellationToken)
    {
        var recorder = Context.Setup.Stage("setup");
        var products = await Client.CallAsync(Operations.ListProducts, new ListProductsRequest { PageSize = 50 }, recorder,
            cancellationToken: cancellationToken);
        if (products.Response is { Products.Count: 0 })
        {
            var admin = await DealSetup.AdminTokenAsync(Context, cancellationToken);
            await DealSetup.CreateAsync(Context, admin, "Load browse", 1000, 1, TimeSpan.FromHours(1), cancellationToken);
            products = await Client.CallAsync(Operations.ListProducts, new ListProductsRequest { PageSize = 50 }, recorder,
                cancellationToken: cancellationToken);
        }
        _productIds = [.. products.Response?.Products.Select(p => p.ProductId) ?? []];
        var deals = await Client.CallAsync(Operations.ListDeals, BrowsableDeals(50), recorder, cancellationToken: cancellationToken);
        _dealIds = [.. deals.Response?.Deals.Select(d => d.DealId) ?? []];
        if (_productIds.Length == 0)
        {
            throw new SetupException($"the catalog at {Client.Transport.Endpoints.Catalog} lists no products ({products.Outcome})");
        }
        Context.Log($"browse: {_productIds.Length} products and {_dealIds.Length} deals to open");
    }

    public override async ValueTask IterateAsync(IIterationContext iteration, CancellationToken cancellationToken)
    {
        var recorder = iteration.Recorder;
        var deals = await Client.CallAsync(Operations.ListDeals, BrowsableDeals(PageSize), recorder, cancellationToken: cancellationToken);
        var dealIds = deals.Response is { Deals.Count: > 0 } listed ? [.. listed.Deals.Select(d => d.DealId)] : _dealIds;
        if (dealIds.Length > 0)
        {
            await Client.CallAsync(Operations.GetDeal, new GetDealRequest { DealId = Pick(dealIds, iteration.Iteration, 3) }, recorder,
                cancellationToken: cancellationToken);
        }
        var pages = 1 + (int)(Fraction(iteration.Iteration, 4) * MaxPages);
        var token = "";
        for (var page = 0; page < pages; page++)
        {
            var products = await Client.CallAsync(Operations.ListProducts,
                new ListProductsRequest { PageSize = PageSize, PageToken = token }, recorder, cancellationToken: cancellationToken);
            token = products.Response?.NextPageToken ?? "";
            if (token.Length == 0)
            {
                break;
            }
        }
        await Client.CallAsync(Operations.GetProduct, new GetProductRequest { ProductId = Pick(_productIds, iteration.Iteration, 5) },
            recorder, cancellationToken: cancellationToken);
    }

    private static ListDealsRequest BrowsableDeals(int pageSize) =>
        new() { PageSize = pageSize, States = { DealState.Upcoming, DealState.Live } };

    private static string Pick(string[] ids, long iteration, int salt) => ids[(int)(Fraction(iteration, salt) * ids.Length)];
}
