using FlashDeal.Catalog.Products;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.Data;
using FlashDeal.ServiceDefaults;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.RateLimiting;

namespace FlashDeal.Catalog.Grpc;

public sealed partial class CatalogApi
{
    private const int MaxQueryLength = 200;
    private static readonly IReadOnlySet<string> ImmutableProductPaths = new HashSet<string>(["product_id", "currency"]);

    public override async Task<CreateProductResponse> CreateProduct(CreateProductRequest request, ServerCallContext context)
    {
        if (request.Product is null)
        {
            throw RpcErrors.InvalidArgument(("product", "is required"));
        }
        ProductRules.Check(request.Product, "product").ThrowIfAny();
        return new CreateProductResponse { Product = await products.CreateAsync(request.Product, context.CancellationToken) };
    }

    public override async Task<UpdateProductResponse> UpdateProduct(UpdateProductRequest request, ServerCallContext context)
    {
        if (request.Product is null)
        {
            throw RpcErrors.InvalidArgument(("product", "is required"));
        }
        var productId = RequireId(request.Product.ProductId, "product.product_id", CatalogErrors.ProductNotFound);
        var violations = new FieldViolations();
        var paths = MaskPaths(request.UpdateMask, ProductRules.MutablePaths, ImmutableProductPaths, violations);
        violations.ThrowIfAny();
        ProductRules.Check(request.Product, "product", paths).ThrowIfAny();
        return new UpdateProductResponse
        {
            Product = await products.UpdateAsync(productId, request.Product, paths, context.CancellationToken),
        };
    }

    public override async Task<ArchiveProductResponse> ArchiveProduct(ArchiveProductRequest request, ServerCallContext context)
    {
        var productId = RequireId(request.ProductId, "product_id", CatalogErrors.ProductNotFound);
        return new ArchiveProductResponse { Product = await products.ArchiveAsync(productId, context.CancellationToken) };
    }

    [AllowAnonymous]
    [EnableRateLimiting("catalog-read")]
    public override async Task<GetProductResponse> GetProduct(GetProductRequest request, ServerCallContext context)
    {
        var productId = RequireId(request.ProductId, "product_id", CatalogErrors.ProductNotFound);
        var product = await products.GetAsync(productId, context.CancellationToken)
            ?? throw CatalogErrors.ProductNotFound(request.ProductId);
        return new GetProductResponse { Product = product };
    }

    [AllowAnonymous]
    [EnableRateLimiting("catalog-read")]
    public override async Task<ListProductsResponse> ListProducts(ListProductsRequest request, ServerCallContext context)
    {
        var violations = new FieldViolations()
            .MaxLength(request.Query, MaxQueryLength, "query")
            .Check(request.Category.Length == 0 || ProductRules.IsCategory(request.Category), "category",
                "must be a lower-case slug of [a-z0-9-], 1 to 64 characters");
        var pageSize = PageSize(request.PageSize, violations);
        violations.ThrowIfAny();

        var filter = new ProductFilter(request.Query.Trim(), request.Category, request.IncludeArchived);
        // The token is only valid for the same filters: a token of another listing would skip or repeat rows.
        var scope = $"catalog.ListProducts\n{filter.Query}\n{filter.Category}\n{filter.IncludeArchived}";
        var after = DecodePageToken(request.PageToken, scope);
        var listing = products.ListAsync(filter, after, pageSize + 1, context.CancellationToken);
        var total = products.CountAsync(filter, context.CancellationToken);
        await Task.WhenAll(listing, total);
        var page = await listing;

        var response = new ListProductsResponse { TotalSize = await total };
        response.Products.AddRange(page.Take(pageSize));
        if (page.Count > pageSize)
        {
            var last = page[pageSize - 1];
            response.NextPageToken = PageToken.Encode(last.CreateTime.ToDateTime(), Guid.Parse(last.ProductId), scope);
        }
        return response;
    }
}
