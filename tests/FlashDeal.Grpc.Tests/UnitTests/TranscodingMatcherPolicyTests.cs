using FlashDeal.Grpc.Testing;
using FlashDeal.Grpc.Transcoding;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Matching;

namespace FlashDeal.Grpc.Tests.UnitTests;

public class TranscodingMatcherPolicyTests
{
    private static readonly ServiceModel Bookstore = GrpcServiceRegistry.Build(typeof(BookstoreService), []);

    private static Endpoint RouteEndpoint(string method)
    {
        var route = TranscodedRoute.FromMethod(Bookstore.Methods.Single(m => m.MethodName == method))[0];
        return new Endpoint(null, new EndpointMetadataCollection(route), method);
    }

    private static async Task<(CandidateSet Candidates, HttpContext Http)> ApplyAsync(string path, string? contentType,
        params Endpoint[] endpoints)
    {
        var http = new DefaultHttpContext();
        http.Request.Path = path;
        http.Request.ContentType = contentType;
        var candidates = new CandidateSet(endpoints, endpoints.Select(_ => new RouteValueDictionary()).ToArray(),
            new int[endpoints.Length]);
        await new TranscodingMatcherPolicy().ApplyAsync(http, candidates);
        return (candidates, http);
    }

    private static string[] Valid(CandidateSet candidates) =>
        Enumerable.Range(0, candidates.Count)
            .Where(candidates.IsValidCandidate)
            .Select(i => candidates[i].Endpoint.DisplayName!)
            .ToArray();

    [Theory]
    [InlineData("GetShelf", "WatchShelf")]
    [InlineData("WatchShelf", "GetShelf")]
    public async Task VerbRouteWinsOverAPlainVariableWhateverTheCandidateOrder(string first, string second)
    {
        var (candidates, http) = await ApplyAsync("/v1/shelves/7:watch", null, RouteEndpoint(first), RouteEndpoint(second));

        Assert.Equal(["WatchShelf"], Valid(candidates));
        var match = http.Features.Get<TranscodingRouteMatch>();
        Assert.Equal("WatchShelf", match?.Route.Method.MethodName);
        Assert.Equal(["7"], match!.Values);
    }

    [Theory]
    [InlineData("GetShelf", "WatchShelf")]
    [InlineData("WatchShelf", "GetShelf")]
    public async Task PlainPathSelectsThePlainRoute(string first, string second)
    {
        var (candidates, _) = await ApplyAsync("/v1/shelves/7", null, RouteEndpoint(first), RouteEndpoint(second));

        Assert.Equal(["GetShelf"], Valid(candidates));
    }

    [Fact]
    public async Task NoMatchingTemplateInvalidatesEveryRoute()
    {
        var (candidates, http) = await ApplyAsync("/v1/shelves/7/unknown", null, RouteEndpoint("GetShelf"),
            RouteEndpoint("WatchShelf"));

        Assert.Empty(Valid(candidates));
        Assert.Null(http.Features.Get<TranscodingRouteMatch>());
    }

    [Theory]
    [InlineData("application/grpc", false)]
    [InlineData("application/json", true)]
    [InlineData(null, true)]
    public async Task FallbackStepsAsideForGrpcRequests(string? contentType, bool valid)
    {
        var fallback = new Endpoint(null, new EndpointMetadataCollection(new TranscodingFallbackMetadata()), "fallback");

        var (candidates, _) = await ApplyAsync("/pkg.Service/Method", contentType, fallback);

        Assert.Equal(valid, candidates.IsValidCandidate(0));
    }

    [Fact]
    public void AppliesOnlyWhereTranscodedEndpointsAre()
    {
        var policy = new TranscodingMatcherPolicy();
        var other = new Endpoint(null, EndpointMetadataCollection.Empty, "other");

        Assert.False(policy.AppliesToEndpoints([other]));
        Assert.True(policy.AppliesToEndpoints([other, RouteEndpoint("GetShelf")]));
    }
}
