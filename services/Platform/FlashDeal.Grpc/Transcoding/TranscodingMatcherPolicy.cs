using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Matching;

namespace FlashDeal.Grpc.Transcoding;

/// <summary>The route a request was matched to and the decoded value of each template variable.</summary>
internal sealed record TranscodingRouteMatch(TranscodedRoute Route, string[] Values);

/// <summary>Marks the JSON 404/405 fallback endpoint.</summary>
internal sealed class TranscodingFallbackMetadata;

/// <summary>
/// Transcoded endpoints are mapped with a coarse ASP.NET Core pattern (literal prefix plus catch-all). This policy does the
/// exact google.api.http match: it keeps only the most specific matching route (so <c>/v1/deals/abc:watch</c> picks the
/// ":watch" rule over <c>/v1/deals/{deal_id}</c>) and leaves gRPC requests to the gRPC endpoints.
/// </summary>
internal sealed class TranscodingMatcherPolicy : MatcherPolicy, IEndpointSelectorPolicy
{
    public override int Order => 0;

    public bool AppliesToEndpoints(IReadOnlyList<Endpoint> endpoints) =>
        endpoints.Any(e => e.Metadata.GetMetadata<TranscodedRoute>() is not null
                           || e.Metadata.GetMetadata<TranscodingFallbackMetadata>() is not null);

    public Task ApplyAsync(HttpContext httpContext, CandidateSet candidates)
    {
        RequestPath? path = null;
        var best = -1;
        TranscodingRouteMatch? match = null;
        for (var i = 0; i < candidates.Count; i++)
        {
            if (!candidates.IsValidCandidate(i))
            {
                continue;
            }
            var metadata = candidates[i].Endpoint.Metadata;
            if (metadata.GetMetadata<TranscodingFallbackMetadata>() is not null)
            {
                if (GrpcProtocol.IsGrpcContentType(httpContext.Request.ContentType))
                {
                    candidates.SetValidity(i, false);
                }
                continue;
            }
            if (metadata.GetMetadata<TranscodedRoute>() is not { } route)
            {
                continue;
            }
            path ??= RequestPath.Get(httpContext);
            if (!route.Template.TryMatch(path, out var values))
            {
                candidates.SetValidity(i, false);
                continue;
            }
            if (match is null || route.Template.CompareSpecificity(match.Route.Template) > 0)
            {
                if (best >= 0)
                {
                    candidates.SetValidity(best, false);
                }
                best = i;
                match = new TranscodingRouteMatch(route, values);
            }
            else
            {
                candidates.SetValidity(i, false);
            }
        }
        if (match is not null)
        {
            httpContext.Features.Set(match);
        }
        return Task.CompletedTask;
    }
}
