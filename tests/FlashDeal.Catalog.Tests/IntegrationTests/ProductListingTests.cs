using FlashDeal.Catalog.Tests.Infrastructure;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.ServiceDefaults;
using FlashDeal.TestInfrastructure;
using Google.Rpc;
using Grpc.Core;

namespace FlashDeal.Catalog.Tests.IntegrationTests;

/// <summary>ListProducts: newest first, keyset pages that stay stable under inserts, filters, scoped page tokens.</summary>
[Collection(DataServers.Name)]
public sealed class ProductListingTests(ProductListingTests.Fixture catalog) : IClassFixture<ProductListingTests.Fixture>
{
    public sealed class Fixture(PostgresServer postgres, RedisServer redis) : CatalogFixture(postgres, redis);

    private async Task<ListProductsResponse> ListAsync(ListProductsRequest request) =>
        await catalog.CallAsync(CatalogMethods.ListProducts, request);

    [Fact]
    public async Task PagesStayStableWhileNewerProductsArrive()
    {
        var created = new List<Product>();
        for (var i = 0; i < 5; i++)
        {
            created.Add(await catalog.CreateProductAsync(name: $"Stable {i}", category: "stable"));
        }
        var page1 = await ListAsync(new ListProductsRequest { Category = "stable", PageSize = 2 });
        for (var i = 0; i < 3; i++)
        {
            await catalog.CreateProductAsync(name: $"Newer {i}", category: "stable");
        }
        var page2 = await ListAsync(new ListProductsRequest { Category = "stable", PageSize = 2, PageToken = page1.NextPageToken });
        var page3 = await ListAsync(new ListProductsRequest { Category = "stable", PageSize = 2, PageToken = page2.NextPageToken });

        var seen = page1.Products.Concat(page2.Products).Concat(page3.Products).Select(p => p.Name).ToList();
        Assert.Equal(["Stable 4", "Stable 3", "Stable 2", "Stable 1", "Stable 0"], seen);
        Assert.NotEmpty(page2.NextPageToken);
        Assert.Empty(page3.NextPageToken);
        // total_size counts the whole listing, the newer products too once they exist (no cache here: counted each time).
        Assert.Equal((5, 8, 8), (page1.TotalSize, page2.TotalSize, page3.TotalSize));
    }

    [Fact]
    public async Task FiltersByTextCategoryAndArchivedState()
    {
        await catalog.CreateProductAsync(name: "Walnut desk", category: "furniture");
        await catalog.CreateProductAsync(name: "Desk lamp", category: "lighting");
        await catalog.CreateProductAsync(name: "Chair", category: "furniture", description: "Fits under any DESK");
        await catalog.CreateProductAsync(name: "100% wool rug", category: "furniture");
        var archived = await catalog.CreateProductAsync(name: "Old desk", category: "furniture");
        await catalog.AdminAsync(CatalogMethods.ArchiveProduct, new ArchiveProductRequest { ProductId = archived.ProductId });

        var desks = await ListAsync(new ListProductsRequest { Query = "desk", Category = "furniture" });
        Assert.Equal(["Chair", "Walnut desk"], desks.Products.Select(p => p.Name));
        Assert.Equal(2, desks.TotalSize);

        var withArchived = await ListAsync(new ListProductsRequest { Query = "DESK", Category = "furniture", IncludeArchived = true });
        Assert.Equal(["Old desk", "Chair", "Walnut desk"], withArchived.Products.Select(p => p.Name));
        Assert.Equal(3, withArchived.TotalSize);

        // LIKE wildcards in the query are plain text.
        var percent = await ListAsync(new ListProductsRequest { Query = "0%" });
        Assert.Equal(["100% wool rug"], percent.Products.Select(p => p.Name));
        var underscore = await ListAsync(new ListProductsRequest { Query = "_" });
        Assert.Empty(underscore.Products);
        Assert.Equal((1, 0), (percent.TotalSize, underscore.TotalSize));
    }

    [Fact]
    public async Task ListsOverRestWithQueryParameters()
    {
        await catalog.CreateProductAsync(name: "Rest kettle A", category: "kettles");
        await catalog.CreateProductAsync(name: "Rest kettle B", category: "kettles");

        var first = await catalog.RestAsync(HttpMethod.Get, "/v1/products?category=kettles&pageSize=1");
        var page1 = await CatalogFixture.ReadAsync<ListProductsResponse>(first);
        var second = await catalog.RestAsync(HttpMethod.Get,
            $"/v1/products?category=kettles&pageSize=1&pageToken={Uri.EscapeDataString(page1.NextPageToken)}");
        var page2 = await CatalogFixture.ReadAsync<ListProductsResponse>(second);

        Assert.Equal(["Rest kettle B"], page1.Products.Select(p => p.Name));
        Assert.Equal(["Rest kettle A"], page2.Products.Select(p => p.Name));
        Assert.Empty(page2.NextPageToken);
    }

    [Fact]
    public async Task APageTokenOnlyWorksForTheQueryThatIssuedIt()
    {
        await catalog.CreateProductAsync(name: "Token 1", category: "tokens");
        await catalog.CreateProductAsync(name: "Token 2", category: "tokens");
        var page1 = await ListAsync(new ListProductsRequest { Category = "tokens", PageSize = 1 });

        var otherFilter = await catalog.FailsAsync(CatalogMethods.ListProducts,
            new ListProductsRequest { Category = "other", PageSize = 1, PageToken = page1.NextPageToken });
        Assert.Equal(StatusCode.InvalidArgument, otherFilter.StatusCode);
        Assert.Equal("page_token", otherFilter.GetDetail<BadRequest>()!.FieldViolations.Single().Field);

        var garbage = await catalog.RestAsync(HttpMethod.Get, "/v1/products?pageToken=not-a-token");
        var error = await CatalogFixture.ReadErrorAsync(garbage);
        Assert.Equal(400, error.HttpStatus);
        Assert.Equal(["page_token"], error.Fields);
    }

    [Fact]
    public async Task BadListParametersAreInvalidArguments()
    {
        var error = await catalog.FailsAsync(CatalogMethods.ListProducts,
            new ListProductsRequest { PageSize = -1, Category = "Not A Slug", Query = new string('q', 201) });
        Assert.Equal(["category", "page_size", "query"], error.GetDetail<BadRequest>()!.FieldViolations.Select(v => v.Field).Order());
    }
}
