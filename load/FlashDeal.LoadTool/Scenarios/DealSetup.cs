using System.Diagnostics;
using FlashDeal.Contracts.Auth.V1;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.LoadTool.Api;
using Google.Protobuf.WellKnownTypes;

namespace FlashDeal.LoadTool.Scenarios;

/// <summary>A deal the scenario places orders against: its terms and the second it opens.</summary>
public sealed record DealUnderTest(Guid DealId, string ProductId, int Stock, int PerUserLimit, DateTime OpensAt, bool Created);

/// <summary>Admin steps of a scenario's set-up: log in, create a product and a deal opening at a whole second, wait for it.</summary>
public static class DealSetup
{
    public static async Task<string> AdminTokenAsync(ScenarioContext context, CancellationToken cancellationToken)
    {
        var options = context.Options;
        if (options.AdminEmail is null || options.AdminPassword is null)
        {
            throw new SetupException("no admin account: pass --admin-email and --admin-password (or run ./flashdeal up for mesh.env)");
        }
        var response = await context.Client.RequireAsync(Operations.LogIn,
            new LogInRequest { Email = options.AdminEmail, Password = options.AdminPassword }, context.Setup.Stage("setup"),
            cancellationToken: cancellationToken);
        return response.Token.AccessToken;
    }

    /// <summary>Creates a product and a deal opening at T = now + opensIn rounded up to the next whole second.</summary>
    public static async Task<DealUnderTest> CreateAsync(ScenarioContext context, string adminToken, string title, int stock,
        int perUserLimit, TimeSpan opensIn, CancellationToken cancellationToken)
    {
        var recorder = context.Setup.Stage("setup");
        var product = await context.Client.RequireAsync(Operations.CreateProduct, new CreateProductRequest
        {
            Product = new Product
            {
                Name = $"{title} {context.RunTag}",
                Category = "load-test",
                Description = "Created by ./flashdeal load",
                ListPriceCents = 10_000,
                Currency = "USD",
            },
        }, recorder, adminToken, cancellationToken);
        var now = DateTime.UtcNow + opensIn;
        var opensAt = new DateTime(now.Ticks - now.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc).AddSeconds(1);
        var deal = await context.Client.RequireAsync(Operations.CreateDeal, new CreateDealRequest
        {
            Deal = new Deal
            {
                ProductId = product.Product.ProductId,
                Title = $"{title} {context.RunTag}",
                DealPriceCents = 5_000,
                Stock = stock,
                PerUserLimit = perUserLimit,
                StartTime = Timestamp.FromDateTime(opensAt),
                EndTime = Timestamp.FromDateTime(opensAt.AddHours(2)),
            },
        }, recorder, adminToken, cancellationToken);
        return new DealUnderTest(Guid.Parse(deal.Deal.DealId), product.Product.ProductId, stock, perUserLimit, opensAt, true);
    }

    /// <summary>An existing deal (--deal): its terms as the catalog reports them.</summary>
    public static async Task<DealUnderTest> ExistingAsync(ScenarioContext context, Guid dealId, CancellationToken cancellationToken)
    {
        var response = await context.Client.RequireAsync(Operations.GetDeal, new GetDealRequest { DealId = dealId.ToString("D") },
            context.Setup.Stage("setup"), cancellationToken: cancellationToken);
        var deal = response.Deal;
        return new DealUnderTest(dealId, deal.ProductId, deal.Stock, deal.PerUserLimit, deal.StartTime.ToDateTime(), false);
    }

    /// <summary>Sleeps until the opening second, then polls GetDeal until the catalog says LIVE (bounded): how long after
    /// T that took, or null when it never turned live.</summary>
    public static async Task<TimeSpan?> WaitUntilLiveAsync(ScenarioContext context, DealUnderTest deal, CancellationToken cancellationToken)
    {
        var wait = deal.OpensAt - DateTime.UtcNow;
        if (wait > TimeSpan.Zero)
        {
            context.Log($"waiting {wait.TotalSeconds:0.0} s for the deal to open at {deal.OpensAt:HH:mm:ss} UTC…");
            await Task.Delay(wait, cancellationToken);
        }
        var recorder = context.Setup.Stage("opening");
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(15))
        {
            var response = await context.Client.CallAsync(Operations.GetDeal, new GetDealRequest { DealId = deal.DealId.ToString("D") },
                recorder, cancellationToken: cancellationToken);
            if (response.Response?.Deal.State is DealState.Live or DealState.SoldOut)
            {
                return DateTime.UtcNow - deal.OpensAt;
            }
            if (response.Response?.Deal.State is DealState.Ended or DealState.Cancelled)
            {
                throw new SetupException($"deal {deal.DealId} is {response.Response.Deal.State}, not live");
            }
            await Task.Delay(50, cancellationToken);
        }
        return null;
    }
}
