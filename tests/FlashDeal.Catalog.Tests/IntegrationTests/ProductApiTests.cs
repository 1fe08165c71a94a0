using System.Net;
using FlashDeal.Catalog.Tests.Infrastructure;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.ServiceDefaults;
using FlashDeal.TestInfrastructure;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;

namespace FlashDeal.Catalog.Tests.IntegrationTests;

/// <summary>Product RPCs over gRPC and REST: the happy paths, validation, not found, and who may write.</summary>
[Collection(DataServers.Name)]
public sealed class ProductApiTests(ProductApiTests.Fixture catalog) : IClassFixture<ProductApiTests.Fixture>
{
    public sealed class Fixture(PostgresServer postgres, RedisServer redis) : CatalogFixture(postgres, redis);

    private static Product ValidProduct() => new()
    {
        Name = "Aurora X200 headphones",
        Description = "Noise cancelling",
        Category = "headphones",
        ListPriceCents = 24_900,
        Currency = "USD",
        ImageUri = "https://img.example.com/x200.png",
    };

    [Fact]
    public async Task CreatedProductCanBeReadBackOverGrpc()
    {
        var created = (await catalog.AdminAsync(CatalogMethods.CreateProduct,
            new CreateProductRequest { Product = ValidProduct() })).Product;

        Assert.True(Guid.TryParse(created.ProductId, out var id) && id.Version == 7);
        Assert.NotNull(created.CreateTime);
        Assert.Equal(created.CreateTime, created.UpdateTime);
        Assert.False(created.Archived);
        var read = (await catalog.CallAsync(CatalogMethods.GetProduct, new GetProductRequest { ProductId = created.ProductId })).Product;
        Assert.Equal(created, read);
    }

    [Fact]
    public async Task CreateAndGetProductOverRest()
    {
        var response = await catalog.RestAsync(HttpMethod.Post, "/v1/products",
            CatalogFixture.Json(new CreateProductRequest { Product = ValidProduct() }), catalog.AdminToken);
        var created = (await CatalogFixture.ReadAsync<CreateProductResponse>(response)).Product;
        Assert.Equal("Aurora X200 headphones", created.Name);
        Assert.Equal(24_900, created.ListPriceCents);

        var get = await catalog.RestAsync(HttpMethod.Get, $"/v1/products/{created.ProductId}");
        Assert.Equal(created, (await CatalogFixture.ReadAsync<GetProductResponse>(get)).Product);
    }

    [Fact]
    public async Task WritesWithoutATokenAreUnauthenticated()
    {
        var grpc = await catalog.FailsAsync(CatalogMethods.CreateProduct, new CreateProductRequest { Product = ValidProduct() });
        Assert.Equal(StatusCode.Unauthenticated, grpc.StatusCode);
        Assert.Equal("ACCESS_TOKEN_MISSING", grpc.GetDetail<ErrorInfo>()?.Reason);

        var rest = await catalog.RestAsync(HttpMethod.Post, "/v1/products",
            CatalogFixture.Json(new CreateProductRequest { Product = ValidProduct() }));
        Assert.Equal(HttpStatusCode.Unauthorized, rest.StatusCode);
        var archive = await catalog.RestAsync(HttpMethod.Post, $"/v1/products/{Guid.NewGuid()}:archive", "{}");
        Assert.Equal(HttpStatusCode.Unauthorized, archive.StatusCode);
    }

    [Fact]
    public async Task WritesWithACustomerTokenArePermissionDenied()
    {
        var grpc = await catalog.FailsAsync(CatalogMethods.CreateProduct,
            new CreateProductRequest { Product = ValidProduct() }, catalog.CustomerToken);
        Assert.Equal(StatusCode.PermissionDenied, grpc.StatusCode);
        Assert.Equal("ADMIN_ROLE_REQUIRED", grpc.GetDetail<ErrorInfo>()?.Reason);

        var product = await catalog.CreateProductAsync();
        var rest = await catalog.RestAsync(HttpMethod.Patch, $"/v1/products/{product.ProductId}?updateMask=name",
            """{"name":"hijacked"}""", catalog.CustomerToken);
        Assert.Equal(HttpStatusCode.Forbidden, rest.StatusCode);
        Assert.Equal("ADMIN_ROLE_REQUIRED", (await CatalogFixture.ReadErrorAsync(rest)).Reason);
    }

    [Fact]
    public async Task InvalidProductNamesEveryBadField()
    {
        var product = ValidProduct();
        product.Name = "";
        product.ListPriceCents = -1;
        product.Currency = "usd";
        product.Category = "Head Phones";
        product.ImageUri = "http://insecure.example.com/a.png";

        var grpc = await catalog.FailsAsync(CatalogMethods.CreateProduct, new CreateProductRequest { Product = product },
            catalog.AdminToken);
        Assert.Equal(StatusCode.InvalidArgument, grpc.StatusCode);
        Assert.Equal(
            ["product.category", "product.currency", "product.image_uri", "product.list_price_cents", "product.name"],
            grpc.GetDetail<BadRequest>()!.FieldViolations.Select(v => v.Field).Order());

        var tooLong = ValidProduct();
        tooLong.Name = new string('x', 201);
        var rest = await catalog.RestAsync(HttpMethod.Post, "/v1/products",
            CatalogFixture.Json(new CreateProductRequest { Product = tooLong }), catalog.AdminToken);
        var error = await CatalogFixture.ReadErrorAsync(rest);
        Assert.Equal(400, error.HttpStatus);
        Assert.Equal(["product.name"], error.Fields);
    }

    [Fact]
    public async Task UnknownProductIsNotFound()
    {
        var grpc = await catalog.FailsAsync(CatalogMethods.GetProduct, new GetProductRequest { ProductId = Guid.NewGuid().ToString() });
        Assert.Equal(StatusCode.NotFound, grpc.StatusCode);
        Assert.Equal("PRODUCT_NOT_FOUND", grpc.GetDetail<ErrorInfo>()?.Reason);
        Assert.Equal("catalog.flashdeal.dev", grpc.GetDetail<ErrorInfo>()?.Domain);

        var rest = await catalog.RestAsync(HttpMethod.Get, "/v1/products/not-a-uuid");
        var error = await CatalogFixture.ReadErrorAsync(rest);
        Assert.Equal(404, error.HttpStatus);
        Assert.Equal("PRODUCT_NOT_FOUND", error.Reason);

        var empty = await catalog.FailsAsync(CatalogMethods.GetProduct, new GetProductRequest());
        Assert.Equal(StatusCode.InvalidArgument, empty.StatusCode);
        Assert.Equal("product_id", empty.GetDetail<BadRequest>()!.FieldViolations.Single().Field);
    }

    [Fact]
    public async Task UpdateChangesOnlyTheMaskedFields()
    {
        var product = await catalog.CreateProductAsync(name: "Before", category: "audio", priceCents: 1000);
        var changes = new Product { ProductId = product.ProductId, Name = "After", Category = "ignored", ListPriceCents = 1500 };

        var updated = (await catalog.AdminAsync(CatalogMethods.UpdateProduct, new UpdateProductRequest
        {
            Product = changes,
            UpdateMask = new FieldMask { Paths = { "name", "list_price_cents" } },
        })).Product;

        Assert.Equal("After", updated.Name);
        Assert.Equal(1500, updated.ListPriceCents);
        Assert.Equal("audio", updated.Category);
        Assert.Equal("EUR", updated.Currency);
        Assert.True(updated.UpdateTime.ToDateTime() >= product.UpdateTime.ToDateTime());

        var rest = await catalog.RestAsync(HttpMethod.Patch, $"/v1/products/{product.ProductId}?updateMask=description",
            """{"description":"Now with a description","name":"not applied"}""", catalog.AdminToken);
        var patched = (await CatalogFixture.ReadAsync<UpdateProductResponse>(rest)).Product;
        Assert.Equal("Now with a description", patched.Description);
        Assert.Equal("After", patched.Name);
    }

    [Fact]
    public async Task UpdateRefusesAMissingMaskAndImmutableOrUnknownPaths()
    {
        var product = await catalog.CreateProductAsync();
        var noMask = await catalog.FailsAsync(CatalogMethods.UpdateProduct,
            new UpdateProductRequest { Product = new Product { ProductId = product.ProductId, Name = "x" } }, catalog.AdminToken);
        Assert.Equal("update_mask", noMask.GetDetail<BadRequest>()!.FieldViolations.Single().Field);

        var rest = await catalog.RestAsync(HttpMethod.Patch, $"/v1/products/{product.ProductId}?updateMask=currency,archived",
            """{"currency":"USD"}""", catalog.AdminToken);
        var error = await CatalogFixture.ReadErrorAsync(rest);
        Assert.Equal(400, error.HttpStatus);
        Assert.Equal(["update_mask", "update_mask"], error.Fields);

        var badValue = await catalog.FailsAsync(CatalogMethods.UpdateProduct, new UpdateProductRequest
        {
            Product = new Product { ProductId = product.ProductId, ListPriceCents = -5 },
            UpdateMask = new FieldMask { Paths = { "list_price_cents" } },
        }, catalog.AdminToken);
        Assert.Equal("product.list_price_cents", badValue.GetDetail<BadRequest>()!.FieldViolations.Single().Field);

        var missing = await catalog.FailsAsync(CatalogMethods.UpdateProduct, new UpdateProductRequest
        {
            Product = new Product { ProductId = Guid.NewGuid().ToString(), Name = "x" },
            UpdateMask = new FieldMask { Paths = { "name" } },
        }, catalog.AdminToken);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task ArchiveIsIdempotentAndFreezesTheProduct()
    {
        var product = await catalog.CreateProductAsync();
        var first = (await catalog.AdminAsync(CatalogMethods.ArchiveProduct,
            new ArchiveProductRequest { ProductId = product.ProductId })).Product;
        Assert.True(first.Archived);
        Assert.NotNull(first.ArchiveTime);

        var rest = await catalog.RestAsync(HttpMethod.Post, $"/v1/products/{product.ProductId}:archive", "{}", catalog.AdminToken);
        var second = (await CatalogFixture.ReadAsync<ArchiveProductResponse>(rest)).Product;
        Assert.Equal(first.ArchiveTime, second.ArchiveTime);

        var update = await catalog.FailsAsync(CatalogMethods.UpdateProduct, new UpdateProductRequest
        {
            Product = new Product { ProductId = product.ProductId, Name = "renamed" },
            UpdateMask = new FieldMask { Paths = { "name" } },
        }, catalog.AdminToken);
        Assert.Equal(StatusCode.FailedPrecondition, update.StatusCode);
        Assert.Equal("PRODUCT_ARCHIVED", update.GetDetail<ErrorInfo>()?.Reason);

        var deal = await catalog.FailsAsync(CatalogMethods.CreateDeal, new CreateDealRequest
        {
            Deal = CatalogFixture.NewDeal(product, TimeSpan.FromHours(1), TimeSpan.FromHours(1)),
        }, catalog.AdminToken);
        Assert.Equal("PRODUCT_ARCHIVED", deal.GetDetail<ErrorInfo>()?.Reason);
    }

    [Fact]
    public async Task ArchiveIsRefusedWhileADealSellsTheProduct()
    {
        var product = await catalog.CreateProductAsync();
        await catalog.CreateDealAsync(product, TimeSpan.FromHours(1), TimeSpan.FromHours(1));

        var error = await catalog.FailsAsync(CatalogMethods.ArchiveProduct,
            new ArchiveProductRequest { ProductId = product.ProductId }, catalog.AdminToken);
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Equal("PRODUCT_HAS_ACTIVE_DEALS", error.GetDetail<ErrorInfo>()?.Reason);
        Assert.Equal(product.ProductId, error.GetDetail<ErrorInfo>()!.Metadata["product_id"]);
    }
}
