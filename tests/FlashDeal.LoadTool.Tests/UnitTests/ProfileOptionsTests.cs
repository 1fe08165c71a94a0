using FlashDeal.Load;
using FlashDeal.LoadTool.Cli;

namespace FlashDeal.LoadTool.Tests.UnitTests;

// --profile and the engine's new options as `./flashdeal load` parses them: presets, what overrides them, usage errors.
public sealed class ProfileOptionsTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("load-profiles-").FullName;

    public void Dispose() => Directory.Delete(_data, recursive: true);

    private string? Environment(string key) => key == "FLASHDEAL_DATA" ? _data : null;

    private ToolOptions Parse(params string[] args) => ToolOptions.Parse(args, Environment);

    [Fact]
    public void ExtremeIsAHundredUsersSharingAHundredIterationsWithP99UnderThreeSeconds()
    {
        var options = Parse("coupon", "--profile", "extreme");
        var plan = options.Load.ToPlan("coupon");

        Assert.Equal(new IterationBudget(100, 100, Shared: true), plan.Iterations);
        Assert.Equal(100, plan.MaxIterations);
        Assert.Equal(["claim_coupon:p99<3s"], options.Load.Thresholds);

        var overridden = Parse("coupon", "--profile", "extreme", "--vus", "20", "--shared-iterations", "500", "--threshold", "claim_coupon:p99<1s");
        Assert.Equal(new IterationBudget(500, 20, Shared: true), overridden.Load.ToPlan("coupon").Iterations);
        Assert.Equal(["claim_coupon:p99<1s"], overridden.Load.Thresholds);
    }

    [Fact]
    public void SequentialIsOneUserDoingOneIterationPerAccount()
    {
        var plan = Parse("coupon", "--profile", "sequential", "--users", "30").Load.ToPlan("coupon");
        Assert.Equal(new IterationBudget(30, 1, Shared: false), plan.Iterations);
        Assert.Equal("sequential", Assert.Single(plan.Stages).Name);
        Assert.Equal(new IterationBudget(7, 1, Shared: false),
            Parse("coupon", "--profile", "sequential", "--iterations", "7").Load.ToPlan("coupon").Iterations);
    }

    [Fact]
    public void RampIsZeroToTwentyToFiftyToZeroUsersWithThinkTime()
    {
        var options = Parse("coupon", "--profile", "ramp");
        var plan = options.Load.ToPlan("coupon");

        Assert.Equal(LoadMode.ClosedLoop, plan.Mode);
        Assert.Equal([20.0, 50.0, 0.0], plan.Stages.Select(s => s.Target));
        Assert.All(plan.Stages, s => Assert.True(s.Ramp));
        Assert.Equal(new ThinkTime(TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(2)), plan.Think);
        Assert.Equal(["claim_coupon:p99<1s"], options.Load.Thresholds);

        var custom = Parse("coupon", "--profile", "ramp", "--think-time", "1s", "--stages", "up:5s:10,down:5s:0").Load.ToPlan("coupon");
        Assert.Equal(["up", "down"], custom.Stages.Select(s => s.Name));
        Assert.Equal(new ThinkTime(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)), custom.Think);
    }

    [Fact]
    public void StressStepsFromStartByStepUpToMaxWithBreakConditions()
    {
        var options = Parse("browse", "--profile", "stress", "--start", "100", "--step", "50", "--max", "300", "--step-duration", "5s");
        var plan = options.Load.ToPlan("browse");

        Assert.Equal(["step-1", "step-2", "step-3", "step-4", "step-5"], plan.Stages.Select(s => s.Name));
        Assert.Equal([100.0, 150, 200, 250, 300], plan.Stages.Select(s => s.Target));
        Assert.All(plan.Stages, s => Assert.Equal((TimeSpan.FromSeconds(5), false), (s.Duration, s.Ramp)));
        Assert.Equal(["errors>1%", "p95>1s"], plan.BreakWhen);
        Assert.Equal(TimeSpan.FromSeconds(25) + TimeSpan.FromMinutes(1), plan.Timeout);

        var closed = Parse("browse", "--profile", "stress", "--mode", "closed", "--start", "8", "--step", "8", "--max", "16", "--break", "p99>200ms");
        Assert.Equal(LoadMode.ClosedLoop, closed.Load.ToPlan("x").Mode);
        Assert.Equal(["p99>200ms"], closed.Load.ToPlan("x").BreakWhen);
    }

    [Fact]
    public void SoakIsOneSteadyStageCutIntoWindowsWithDriftThresholds()
    {
        var options = Parse("browse", "--profile", "soak", "--duration", "30m", "--rate", "80");
        var plan = options.Load.ToPlan("browse");

        Assert.Equal(new StagePlan("soak", TimeSpan.FromMinutes(30), 80, Ramp: false), Assert.Single(plan.Stages));
        Assert.Equal(LoadMode.ArrivalRate, plan.Mode);
        Assert.Equal(TimeSpan.FromSeconds(30), plan.Window);
        Assert.Equal(TimeSpan.FromMinutes(32), plan.Timeout);
        Assert.Equal(["drift:p95<1.5x", "drift:memory<50%"], options.Load.Thresholds);

        var users = Parse("browse", "--profile", "soak", "--duration", "10m", "--vus", "16", "--window", "1m", "--threshold", "drift:p99<2x");
        var usersPlan = users.Load.ToPlan("browse");
        Assert.Equal(LoadMode.ClosedLoop, usersPlan.Mode);
        Assert.Equal(16, Assert.Single(usersPlan.Stages).Target);
        Assert.Equal(TimeSpan.FromMinutes(1), usersPlan.Window);
        Assert.Equal(["drift:p99<2x"], users.Load.Thresholds);
    }

    [Theory]
    [InlineData("--duration", "browse", "--profile", "soak")]
    [InlineData("--duration", "browse", "--profile", "soak", "--duration", "25h")]
    [InlineData("--window", "browse", "--profile", "soak", "--duration", "50s", "--window", "30s")]
    [InlineData("--stages", "browse", "--profile", "soak", "--duration", "5m", "--stages", "a:1s:1")]
    [InlineData("--stages", "browse", "--profile", "stress", "--stages", "a:1s:1")]
    [InlineData("--max", "browse", "--profile", "stress", "--start", "1", "--step", "1", "--max", "500")]
    [InlineData("--start", "browse", "--profile", "stress", "--start", "600", "--max", "500")]
    [InlineData("--step", "browse", "--step", "10")]
    [InlineData("--mode", "coupon", "--profile", "ramp", "--mode", "arrival")]
    [InlineData("--profile", "coupon", "--profile", "chaos")]
    [InlineData("--coupons", "coupon", "--coupons", "0")]
    [InlineData("--think-time", "coupon", "--think-time", "fast")]
    [InlineData("--shared-iterations", "coupon", "--profile", "extreme", "--iterations", "3", "--shared-iterations", "5")]
    [InlineData("--vus", "coupon", "--vus", "4")]
    [InlineData("--break", "coupon", "--break", "p95 above 1s")]
    [InlineData("--threshold", "coupon", "--threshold", "drift:p95<3%")]
    public async Task UsageErrorsExitTwoAndNameTheOption(string option, params string[] args)
    {
        var parse = Assert.Throws<UsageException>(() => Parse(args));
        Assert.Contains(option, parse.Message, StringComparison.Ordinal);

        var stderr = new StringWriter();
        var code = await LoadCommand.RunAsync(args, TextWriter.Null, stderr, Environment, CancellationToken.None);
        Assert.Equal(2, code);
        Assert.Contains(option, stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void TheNewScenariosAreKnownAndTheUsageListsTheProfiles()
    {
        Assert.Equal("coupon", Parse("coupon", "--coupons", "10").Scenario);
        Assert.Equal(10, Parse("coupon", "--coupons", "10").Coupons);
        Assert.Equal(100, Parse("lists", "--page-size", "100").PageSize);
        foreach (var name in Profiles.Names)
        {
            Assert.Contains("--profile " + name, ToolOptions.Usage, StringComparison.Ordinal);
        }
        Assert.Throws<UsageException>(() => Parse("mix", "--mix", "coupon=1"));
    }

    [Fact]
    public void MemoryProbeReadsResidentMemoryFromProcStatus()
    {
        Assert.Equal(123456L * 1024, MemoryProbe.Parse("Name:\tcatalog\nVmPeak:\t  999 kB\nVmRSS:\t  123456 kB\nThreads:\t12\n"));
        Assert.Null(MemoryProbe.Parse("Name:\tkthreadd\nState:\tS (sleeping)\n"));
        if (OperatingSystem.IsLinux())
        {
            var sample = MemoryProbe.Create([])!();
            Assert.True(sample["load tool"] > 0);
        }
    }
}

// The coupon calls as both transports send them: the REST routes and bodies of protos/flashdeal/coupons/v1/coupons.proto.
public sealed class CouponOperationsTests
{
    [Fact]
    public void ClaimCouponPostsTheKeyToTheCampaignsClaimRoute()
    {
        var request = new FlashDeal.Contracts.Coupons.V1.ClaimCouponRequest { CampaignId = "c-1", IdempotencyKey = "run-u1-v2" };

        Assert.Equal("claim_coupon", Api.Operations.ClaimCoupon.Name);
        Assert.Equal(Api.ApiService.Coupons, Api.Operations.ClaimCoupon.Service);
        Assert.Equal(HttpMethod.Post, Api.Operations.ClaimCoupon.Verb);
        Assert.Equal("/v1/coupon-campaigns/c-1:claim", Api.Operations.ClaimCoupon.RestPath(request));
        Assert.Equal("""{ "idempotencyKey": "run-u1-v2" }""",
            Google.Protobuf.JsonFormatter.Default.Format(Api.Operations.ClaimCoupon.RestBodyOf(request)));
    }

    [Fact]
    public void CreateCampaignPostsTheCampaignAsTheBody()
    {
        var request = new FlashDeal.Contracts.Coupons.V1.CreateCampaignRequest
        {
            Campaign = new FlashDeal.Contracts.Coupons.V1.Campaign { Name = "x", TotalQuantity = 5 },
        };

        Assert.Equal("create_campaign", Api.Operations.CreateCampaign.Name);
        Assert.Equal("/v1/coupon-campaigns", Api.Operations.CreateCampaign.RestPath(request));
        Assert.Same(request.Campaign, Api.Operations.CreateCampaign.RestBodyOf(request));
        // Coupons are served with orders: the same addresses (every replica over gRPC).
        var endpoints = new Api.ServiceEndpoints(new Uri("http://a"), new Uri("http://c"), [new Uri("http://o1"), new Uri("http://o2")]);
        Assert.Equal(endpoints.OrdersReplicas, endpoints.AllFor(Api.ApiService.Coupons));
    }
}
