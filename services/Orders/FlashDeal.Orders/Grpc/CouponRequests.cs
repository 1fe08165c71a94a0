using System.Text.RegularExpressions;
using FlashDeal.Contracts.Coupons.V1;
using FlashDeal.Orders.Coupons;
using FlashDeal.ServiceDefaults;

namespace FlashDeal.Orders.Grpc;

/// <summary>Input checks of CouponService; every problem becomes a field violation naming the proto field.</summary>
public static partial class CouponRequests
{
    public const int MaxNameLength = 200;
    public const int MaxTotalQuantity = 1_000_000;

    /// <summary>A campaign to create, checked whole (every mistake in one answer); id and create_time are the server's.</summary>
    public static CampaignRecord Validate(CreateCampaignRequest request, TimeSpan defaultRedeemWindow)
    {
        var violations = new FieldViolations();
        if (request.Campaign is not { } campaign)
        {
            violations.Add("campaign", "is required");
            violations.ThrowIfAny();
            throw new InvalidOperationException();
        }
        var name = campaign.Name.Trim();
        violations.Check(name.Length > 0, "campaign.name", "is required")
            .MaxLength(name, MaxNameLength, "campaign.name");
        int? percentOff = null;
        long? amountOffCents = null;
        switch (campaign.DiscountCase)
        {
            case Campaign.DiscountOneofCase.PercentOff:
                percentOff = campaign.PercentOff;
                violations.Check(percentOff is >= 1 and <= 100, "campaign.percent_off", "must be 1 to 100")
                    .Check(campaign.Currency.Length == 0, "campaign.currency", "must be empty with percent_off");
                break;
            case Campaign.DiscountOneofCase.AmountOffCents:
                amountOffCents = campaign.AmountOffCents;
                violations.Check(amountOffCents >= 1, "campaign.amount_off_cents", "must be at least 1");
                if (campaign.Currency.Length == 0)
                {
                    violations.Add("campaign.currency", "is required with amount_off_cents");
                }
                else
                {
                    violations.Check(CurrencyPattern().IsMatch(campaign.Currency), "campaign.currency",
                        "must be an ISO 4217 code (3 upper-case letters)");
                }
                break;
            default:
                violations.Add("campaign.percent_off", "one of percent_off or amount_off_cents is required");
                break;
        }
        violations.Check(campaign.TotalQuantity is >= 1 and <= MaxTotalQuantity, "campaign.total_quantity",
            $"must be 1 to {MaxTotalQuantity:N0}");
        violations.Check(campaign.StartTime is not null, "campaign.start_time", "is required")
            .Check(campaign.EndTime is not null, "campaign.end_time", "is required");
        var start = campaign.StartTime?.ToDateTimeOffset() ?? default;
        var end = campaign.EndTime?.ToDateTimeOffset() ?? default;
        if (campaign.StartTime is not null && campaign.EndTime is not null)
        {
            violations.Check(start < end, "campaign.end_time", "must be after start_time");
        }
        var redeemBefore = campaign.RedeemBefore?.ToDateTimeOffset() ?? end + defaultRedeemWindow;
        violations.Check(campaign.RedeemBefore is null || redeemBefore >= end, "campaign.redeem_before",
            "must not be before end_time");
        Guid? dealId = null;
        if (campaign.DealId.Length > 0)
        {
            if (Guid.TryParseExact(campaign.DealId, "D", out var deal))
            {
                dealId = deal;
            }
            else
            {
                violations.Add("campaign.deal_id", "must be a UUID (8-4-4-4-12 hex digits)");
            }
        }
        violations.ThrowIfAny();
        return new CampaignRecord
        {
            CampaignId = Guid.Empty,
            Name = name,
            PercentOff = percentOff,
            AmountOffCents = amountOffCents,
            Currency = campaign.Currency,
            TotalQuantity = campaign.TotalQuantity,
            StartTime = start,
            EndTime = end,
            RedeemBefore = redeemBefore,
            DealId = dealId,
            CreateTime = default,
        };
    }

    /// <summary>A required id: empty is INVALID_ARGUMENT; anything else that is not a UUID can only be NOT_FOUND.</summary>
    public static Guid? CampaignId(string value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw RpcErrors.InvalidArgument(("campaign_id", "is required"));
        }
        return Guid.TryParseExact(value, "D", out var id) ? id : null;
    }

    public static void ValidateClaim(ClaimCouponRequest request)
    {
        var violations = new FieldViolations();
        if (request.IdempotencyKey.Length == 0)
        {
            violations.Add("idempotency_key", "is required");
        }
        else
        {
            violations.Check(IdempotencyKeyPattern().IsMatch(request.IdempotencyKey), "idempotency_key",
                $"must be 1 to {OrderRequests.MaxIdempotencyKeyLength} characters of A-Z, a-z, 0-9, '_' and '-'");
        }
        violations.ThrowIfAny();
    }

    public static int PageSize(int requested)
    {
        if (requested < 0)
        {
            throw RpcErrors.InvalidArgument(("page_size", "must not be negative"));
        }
        return requested == 0 ? OrderRequests.DefaultPageSize : Math.Min(requested, OrderRequests.MaxPageSize);
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex IdempotencyKeyPattern();

    [GeneratedRegex("^[A-Z]{3}$")]
    private static partial Regex CurrencyPattern();
}
