using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.Load;
using FlashDeal.LoadTool.Api;

namespace FlashDeal.LoadTool.Scenarios;

/// <summary>
/// The hot lists alone, anonymous: each iteration is one call, alternately ListDeals (live and upcoming, a page of 10)
/// and the first page of ListProducts (<c>--page-size</c>). What `./flashdeal bench lists` drives against a catalog
/// with its cache on and off. No set-up beyond one look at the catalog, no invariants.
/// </summary>
public sealed class ListsScenario(ScenarioContext context) : Scenario(context)
{
    public override string Name => "lists";

    public override IReadOnlyList<StagePlan> DefaultStages(LoadMode mode) => mode == LoadMode.ClosedLoop
        ? [new StagePlan("lists", TimeSpan.FromSeconds(10), 100, Ramp: false)]
        : [new StagePlan("lists", TimeSpan.FromSeconds(10), 500, Ramp: false)];

    public override async Task SetUpAsync(CancellationToken cancellationToken)
    {
        var products = await Client.RequireAsync(Operations.ListProducts, new ListProductsRequest { PageSize = Options.PageSize },
            Context.Setup.Stage("setup"), cancellationToken: cancellationToken);
        Context.Metadata["first_page_products"] = products.Products.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    public override async ValueTask IterateAsync(IIterationContext iteration, CancellationToken cancellationToken)
    {
        if (iteration.Iteration % 2 == 0)
        {
            await Client.CallAsync(Operations.ListDeals, new ListDealsRequest
            {
                PageSize = 10,
                States = { DealState.Live, DealState.Upcoming },
            }, iteration.Recorder, cancellationToken: cancellationToken);
        }
        else
        {
            await Client.CallAsync(Operations.ListProducts, new ListProductsRequest { PageSize = Options.PageSize },
                iteration.Recorder, cancellationToken: cancellationToken);
        }
    }
}
