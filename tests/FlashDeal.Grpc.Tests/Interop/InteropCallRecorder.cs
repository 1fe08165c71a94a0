using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace FlashDeal.Grpc.Tests.Interop;

/// <summary>What the server received of each request an interop client tagged with "x-interop-case".</summary>
public sealed record RecordedCall(string Case, string Path, string UserAgent, string? Encoding, string? AcceptEncoding,
    string? Timeout);

/// <summary>
/// Records requests as they arrive, in middleware ahead of gRPC handling, so calls that fail before their handler
/// (oversized, deadline already spent) are seen too.
/// </summary>
public sealed class InteropCallRecorder : IStartupFilter
{
    private readonly ConcurrentQueue<RecordedCall> _calls = new();

    public IReadOnlyList<RecordedCall> Calls => _calls.ToArray();

    public IReadOnlyList<RecordedCall> For(string interopCase) => _calls.Where(c => c.Case == interopCase).ToArray();

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use((http, nextMiddleware) =>
        {
            Record(http.Request);
            return nextMiddleware(http);
        });
        next(app);
    };

    private void Record(HttpRequest request)
    {
        var interopCase = request.Headers["x-interop-case"].ToString();
        if (interopCase.Length == 0)
        {
            return;
        }
        _calls.Enqueue(new RecordedCall(interopCase, request.Path.Value ?? "", request.Headers.UserAgent.ToString(),
            NullIfEmpty(request.Headers[GrpcProtocol.EncodingHeader].ToString()),
            NullIfEmpty(request.Headers[GrpcProtocol.AcceptEncodingHeader].ToString()),
            NullIfEmpty(request.Headers[GrpcProtocol.TimeoutHeader].ToString())));
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;
}
