using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;

namespace FlashDeal.Grpc.Transcoding;

/// <summary>
/// Maps one endpoint per http rule (and additional binding) of each unary and server-streaming method, so endpoint
/// conventions on <c>MapGrpcService</c> (authorization, metadata) apply to its REST routes too. Client- and
/// bidirectional-streaming methods have no REST form and are skipped.
/// </summary>
internal sealed class TranscodingEndpointContributor(
    IOptions<JsonTranscodingOptions> options,
    GrpcServerRuntime runtime,
    TranscodingRouteTable table) : IServiceEndpointContributor
{
    public void Contribute(IEndpointRouteBuilder endpoints, ServiceModel service, IList<IEndpointConventionBuilder> builders)
    {
        var settings = options.Value;
        var json = new TranscodingJson([service.Descriptor.File], settings);
        foreach (var method in service.Methods)
        {
            if (method.Type is MethodType.ClientStreaming or MethodType.DuplexStreaming)
            {
                continue;
            }
            foreach (var route in TranscodedRoute.FromMethod(method))
            {
                table.Add(route);
                var handlerType = typeof(TranscodedCallHandler<,,>)
                    .MakeGenericType(method.ServiceType, method.RequestType, method.ResponseType);
                var handler = (ITranscodedCallHandler)Activator.CreateInstance(handlerType, method, route, json, settings,
                    runtime)!;
                builders.Add(endpoints
                    .MapMethods(route.Template.ToRoutePattern(), [route.HttpMethod], handler.HandleAsync)
                    .WithDisplayName($"REST {route} ({method.FullName})")
                    .WithMetadata(route, method));
            }
        }
        if (settings.MapFallbackEndpoint && table.TryClaimFallback())
        {
            endpoints.Map("/{**transcodingFallbackPath}", http => WriteFallbackAsync(http, table))
                .WithDisplayName("REST fallback (404/405)")
                .WithMetadata(new TranscodingFallbackMetadata())
                .WithOrder(int.MaxValue - 1);
        }
    }

    /// <summary>No route matched: 405 with Allow when the path fits another method, else 404; both as google.rpc.Status JSON.</summary>
    private static Task WriteFallbackAsync(HttpContext http, TranscodingRouteTable table)
    {
        var request = http.Request;
        var allowed = table.AllowedMethods(RequestPath.Get(http));
        var response = http.Response;
        Status status;
        if (allowed.Count > 0)
        {
            response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            response.Headers.Allow = string.Join(", ", allowed);
            status = new Status(StatusCode.Unimplemented,
                $"Method {request.Method} is not allowed for {request.Path}; allowed: {string.Join(", ", allowed)}.");
        }
        else
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            status = new Status(StatusCode.NotFound, $"No REST route matches {request.Method} {request.Path}.");
        }
        var body = Encoding.UTF8.GetBytes(Google.Protobuf.JsonFormatter.Default.Format(
            new Google.Rpc.Status { Code = (int)status.StatusCode, Message = status.Detail }));
        response.ContentType = "application/json; charset=utf-8";
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, http.RequestAborted).AsTask();
    }
}
