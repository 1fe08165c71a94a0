using System.Globalization;
using FlashDeal.Contracts.Coupons.V1;
using FlashDeal.Load;
using FlashDeal.LoadTool.Api;
using FlashDeal.LoadTool.Stores;
using Google.Protobuf.WellKnownTypes;

namespace FlashDeal.LoadTool.Scenarios;

/// <summary>
/// The coupon grab: the users log in beforehand, the admin creates a campaign of <c>--coupons</c> coupons opening at a
/// known second, and each iteration is one user's ClaimCoupon with a new idempotency key (resent with the same key on
/// UNAVAILABLE / DEADLINE_EXCEEDED). Users come back with new keys, so most of a long run is refusals:
/// COUPONS_EXHAUSTED and ALREADY_CLAIMED (for a user who claimed before) are expected. Afterwards the stores must hold
/// exactly min(coupons, users) claims, one per user, the same in Redis and PostgreSQL.
/// </summary>
public sealed class CouponScenario(ScenarioContext context) : Scenario(context)
{
    public const string CouponsExhausted = "COUPONS_EXHAUSTED";
    public const string AlreadyClaimed = "ALREADY_CLAIMED";
    private const int MaxResends = 2;

    private readonly CouponLedger _ledger = new();
    private IReadOnlyList<UserSession> _users = [];
    private long _visits = -1;

    public override string Name => "coupon";

    public Guid? CampaignId { get; private set; }

    public CouponLedger Ledger => _ledger;

    public override IReadOnlyList<StagePlan> DefaultStages(LoadMode mode) => mode == LoadMode.ClosedLoop
        ? [new StagePlan("claim", TimeSpan.FromSeconds(10), Math.Min(Options.Users, 256), Ramp: false)]
        : [new StagePlan("claim", TimeSpan.FromSeconds(10), Math.Max(50, Options.Users), Ramp: false)];

    public override async Task SetUpAsync(CancellationToken cancellationToken)
    {
        _users = await Context.Users.EnsureAsync(Options.Users, cancellationToken);
        var admin = await DealSetup.AdminTokenAsync(Context, cancellationToken);
        var now = DateTime.UtcNow + Options.OpensIn;
        var opensAt = new DateTime(now.Ticks - now.Ticks % TimeSpan.TicksPerSecond, DateTimeKind.Utc).AddSeconds(1);
        var created = await Client.RequireAsync(Operations.CreateCampaign, new CreateCampaignRequest
        {
            Campaign = new Campaign
            {
                Name = $"Load coupons {Context.RunTag}",
                AmountOffCents = 500,
                Currency = "USD",
                TotalQuantity = Options.Coupons,
                StartTime = Timestamp.FromDateTime(opensAt),
                EndTime = Timestamp.FromDateTime(opensAt.AddHours(2)),
            },
        }, Context.Setup.Stage("setup"), admin, cancellationToken);
        CampaignId = Guid.Parse(created.Campaign.CampaignId);
        Context.Metadata["campaign_id"] = created.Campaign.CampaignId;
        Context.Metadata["coupons"] = Options.Coupons.ToString(CultureInfo.InvariantCulture);
        Context.Metadata["campaign_opens_at"] = opensAt.ToString("O", CultureInfo.InvariantCulture);
        Context.Log($"campaign {CampaignId}: {Options.Coupons} coupons, opens {opensAt:HH:mm:ss} UTC");
        var wait = opensAt - DateTime.UtcNow;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, cancellationToken);
        }
    }

    public override async ValueTask IterateAsync(IIterationContext iteration, CancellationToken cancellationToken)
    {
        var campaign = CampaignId ?? throw new InvalidOperationException("SetUpAsync first.");
        // The same walk as the spike: consecutive claims come from different users, a user returns after all others.
        var visit = Interlocked.Increment(ref _visits);
        var n = _users.Count;
        var user = _users[(int)((visit % n) * SpikeScenario.Stride(n) % n)];
        var key = string.Create(CultureInfo.InvariantCulture, $"{Context.RunTag}-u{user.Index}-v{visit}");
        var request = new ClaimCouponRequest { CampaignId = campaign.ToString("D"), IdempotencyKey = key };
        _ledger.Attempt(user.UserId);
        for (var attempt = 0; ; attempt++)
        {
            var token = user.AccessToken;
            var result = await Client.CallAsync(Operations.ClaimCoupon, request, iteration.Recorder, token,
                outcome => IsExpectedRefusal(outcome, _ledger.AttemptsOf(user.UserId)), cancellationToken);
            if (result.Outcome == Outcomes.AccessTokenExpired
                && await Context.Users.RenewAsync(user, token, iteration.Recorder, cancellationToken))
            {
                result = await Client.CallAsync(Operations.ClaimCoupon, request, iteration.Recorder, user.AccessToken,
                    outcome => IsExpectedRefusal(outcome, _ledger.AttemptsOf(user.UserId)), cancellationToken);
            }
            if (result.Response is { } claimed)
            {
                _ledger.Accepted(user.UserId, claimed.Coupon.CouponId, key);
                return;
            }
            if (!Outcomes.IsTransient(result.Outcome))
            {
                return;
            }
            if (attempt >= MaxResends)
            {
                _ledger.Uncertain();
                return;
            }
        }
    }

    /// <summary>Running out of coupons is the point. ALREADY_CLAIMED is expected for a user with another attempt (earlier or
    /// at the same time, which may have won); for a user's only attempt it is a bug.</summary>
    public static bool IsExpectedRefusal(string outcome, int attemptsOfUser) => outcome switch
    {
        CouponsExhausted => true,
        AlreadyClaimed => attemptsOfUser > 1,
        _ => false,
    };

    public override async Task<IReadOnlyList<InvariantResult>> CheckAsync(CancellationToken cancellationToken)
    {
        var campaign = CampaignId ?? throw new InvalidOperationException("SetUpAsync first.");
        Context.Metadata["claimed"] = _ledger.Coupons.Sum(p => p.Value.Count).ToString(CultureInfo.InvariantCulture);
        Context.Metadata["users_tried"] = _ledger.UsersTried.ToString(CultureInfo.InvariantCulture);
        if (Options.Postgres is null || Options.Redis is null)
        {
            return [new InvariantResult("stores reachable", false,
                "no --postgres/--redis (mesh.env has them after ./flashdeal up): the claims cannot be checked in the stores")];
        }
        Context.Log($"checking the coupon invariants in PostgreSQL and Redis (drain bound {Options.CheckTimeout.TotalSeconds:0} s)…");
        return await CouponInvariants.CheckAsync(Options.Postgres, Options.Redis, campaign, Options.Coupons, _ledger,
            Options.CheckTimeout, cancellationToken);
    }
}
