using System.Reflection;
using System.Text;
using FlashDeal.Contracts.Auth.V1;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.Contracts.Coupons.V1;
using FlashDeal.Contracts.Orders.V1;
using Google.Protobuf.Reflection;

namespace FlashDeal.LoadTool.Api;

/// <summary>Every call the scenarios make, with the names AGREED.md fixes for reports (login, get_deal, place_order, …).
/// REST routes mirror protos/flashdeal/*/v1 http rules; query parameters use the proto JSON names.</summary>
public static class Operations
{
    public static readonly ApiOperation<SignUpRequest, SignUpResponse> SignUp =
        new("signup", ApiService.Auth, (c, r, o) => c.Auth.SignUpAsync(r, o),
            HttpMethod.Post, _ => "/v1/auth:signUp", true);

    public static readonly ApiOperation<LogInRequest, LogInResponse> LogIn =
        new("login", ApiService.Auth, (c, r, o) => c.Auth.LogInAsync(r, o),
            HttpMethod.Post, _ => "/v1/auth:logIn", true);

    public static readonly ApiOperation<RefreshRequest, RefreshResponse> Refresh =
        new("refresh", ApiService.Auth, (c, r, o) => c.Auth.RefreshAsync(r, o),
            HttpMethod.Post, _ => "/v1/auth:refresh", true);

    public static readonly ApiOperation<LogOutRequest, LogOutResponse> LogOut =
        new("logout", ApiService.Auth, (c, r, o) => c.Auth.LogOutAsync(r, o),
            HttpMethod.Post, _ => "/v1/auth:logOut", true);

    public static readonly ApiOperation<GetMeRequest, GetMeResponse> GetMe =
        new("get_me", ApiService.Auth, (c, r, o) => c.Auth.GetMeAsync(r, o), HttpMethod.Get, _ => "/v1/auth/me", false);

    public static readonly ApiOperation<CreateProductRequest, CreateProductResponse> CreateProduct =
        new("create_product", ApiService.Catalog, (c, r, o) => c.Catalog.CreateProductAsync(r, o),
            HttpMethod.Post, _ => "/v1/products", true);

    public static readonly ApiOperation<CreateDealRequest, CreateDealResponse> CreateDeal =
        new("create_deal", ApiService.Catalog, (c, r, o) => c.Catalog.CreateDealAsync(r, o),
            HttpMethod.Post, _ => "/v1/deals", true);

    public static readonly ApiOperation<GetProductRequest, GetProductResponse> GetProduct =
        new("get_product", ApiService.Catalog, (c, r, o) => c.Catalog.GetProductAsync(r, o), HttpMethod.Get,
            r => $"/v1/products/{Uri.EscapeDataString(r.ProductId)}", false);

    public static readonly ApiOperation<ListProductsRequest, ListProductsResponse> ListProducts =
        new("list_products", ApiService.Catalog, (c, r, o) => c.Catalog.ListProductsAsync(r, o), HttpMethod.Get,
            r => new Query("/v1/products").Add("pageSize", r.PageSize).Add("pageToken", r.PageToken)
                .Add("category", r.Category).Add("query", r.Query).ToString(), false);

    public static readonly ApiOperation<GetDealRequest, GetDealResponse> GetDeal =
        new("get_deal", ApiService.Catalog, (c, r, o) => c.Catalog.GetDealAsync(r, o), HttpMethod.Get,
            r => $"/v1/deals/{Uri.EscapeDataString(r.DealId)}", false);

    public static readonly ApiOperation<ListDealsRequest, ListDealsResponse> ListDeals =
        new("list_deals", ApiService.Catalog, (c, r, o) => c.Catalog.ListDealsAsync(r, o), HttpMethod.Get,
            r => r.States.Aggregate(
                    new Query("/v1/deals").Add("pageSize", r.PageSize).Add("pageToken", r.PageToken).Add("productId", r.ProductId),
                    (q, s) => q.Add("states", StateName(s)))
                .ToString(), false);

    public static readonly ApiOperation<PlaceOrderRequest, PlaceOrderResponse> PlaceOrder =
        new("place_order", ApiService.Orders, (c, r, o) => c.Orders.PlaceOrderAsync(r, o),
            HttpMethod.Post, _ => "/v1/orders", true);

    public static readonly ApiOperation<GetOrderRequest, GetOrderResponse> GetOrder =
        new("get_order", ApiService.Orders, (c, r, o) => c.Orders.GetOrderAsync(r, o), HttpMethod.Get,
            r => $"/v1/orders/{Uri.EscapeDataString(r.OrderId)}", false);

    public static readonly ApiOperation<ListMyOrdersRequest, ListMyOrdersResponse> ListMyOrders =
        new("list_my_orders", ApiService.Orders, (c, r, o) => c.Orders.ListMyOrdersAsync(r, o), HttpMethod.Get,
            r => new Query("/v1/orders").Add("pageSize", r.PageSize).Add("pageToken", r.PageToken).Add("dealId", r.DealId)
                .ToString(), false);

    public static readonly ApiOperation<CreateCampaignRequest, CreateCampaignResponse> CreateCampaign =
        new("create_campaign", ApiService.Coupons, (c, r, o) => c.Coupons.CreateCampaignAsync(r, o),
            HttpMethod.Post, _ => "/v1/coupon-campaigns", true, r => r.Campaign);

    public static readonly ApiOperation<ClaimCouponRequest, ClaimCouponResponse> ClaimCoupon =
        new("claim_coupon", ApiService.Coupons, (c, r, o) => c.Coupons.ClaimCouponAsync(r, o),
            HttpMethod.Post, r => $"/v1/coupon-campaigns/{Uri.EscapeDataString(r.CampaignId)}:claim", true,
            r => new ClaimCouponRequest { IdempotencyKey = r.IdempotencyKey });

    /// <summary>The proto enum value name (DEAL_STATE_LIVE), which is what proto JSON uses for enums.</summary>
    private static string StateName(DealState state) =>
        typeof(DealState).GetField(state.ToString())?.GetCustomAttribute<OriginalNameAttribute>()?.Name
        ?? ((int)state).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private sealed class Query(string path)
    {
        private readonly StringBuilder _text = new(path);
        private bool _first = true;

        public Query Add(string name, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                _text.Append(_first ? '?' : '&').Append(name).Append('=').Append(Uri.EscapeDataString(value));
                _first = false;
            }
            return this;
        }

        public Query Add(string name, int value) =>
            value == 0 ? this : Add(name, value.ToString(System.Globalization.CultureInfo.InvariantCulture));

        public override string ToString() => _text.ToString();
    }
}
