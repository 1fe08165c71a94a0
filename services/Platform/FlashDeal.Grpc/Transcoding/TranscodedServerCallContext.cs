using Microsoft.AspNetCore.Http;

namespace FlashDeal.Grpc.Transcoding;

/// <summary>
/// The call context of a REST request: HTTP headers are the request metadata, a grpc-timeout header sets the deadline,
/// and response headers are HTTP headers that go out with the first body bytes.
/// </summary>
internal sealed class TranscodedServerCallContext(HttpContext http, GrpcServerRuntime runtime, ServiceMethod method)
    : ServerCallContext, IDisposable
{
    private static readonly HashSet<string> HopByHopHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "trailer",
    };

    private CancellationTokenSource? _callCts;
    private CancellationTokenSource? _deadlineCts;
    private Metadata? _requestHeaders;
    private Metadata? _responseTrailers;
    private DateTime _deadline = DateTime.MaxValue;
    private bool _headersWritten;
    private bool _trailersWritten;

    public override string Method => method.FullName;

    public override string Host => http.Request.Host.Value ?? "";

    public override string Peer => HttpServerCallContext.FormatPeer(http);

    public override DateTime Deadline => _deadline;

    public override Metadata RequestHeaders =>
        _requestHeaders ??= HttpServerCallContext.ReadMetadata(http.Request.Headers, HopByHopHeaders.Contains);

    public override CancellationToken CancellationToken => _callCts?.Token ?? http.RequestAborted;

    public override Metadata ResponseTrailers => _responseTrailers ??= [];

    public override bool IsTranscoded => true;

    /// <summary>True once body bytes were written: the HTTP status and headers are then fixed.</summary>
    public bool ResponseStarted { get; set; }

    /// <summary>
    /// Also true once the deadline timer fired: it can fire a moment before DateTime.UtcNow reaches the deadline, and a
    /// cancellation it caused must still read as DEADLINE_EXCEEDED.
    /// </summary>
    public bool DeadlineExceeded => _deadlineCts?.IsCancellationRequested == true
        || (_deadline != DateTime.MaxValue && DateTime.UtcNow >= _deadline);

    public bool ServerShuttingDown => runtime.ShuttingDown.IsCancellationRequested;

    public override HttpContext GetHttpContext() => http;

    /// <summary>Sets the deadline from grpc-timeout and links cancellation. Throws INVALID_ARGUMENT for a bad timeout.</summary>
    public void Initialize()
    {
        var tokens = new List<CancellationToken>(3) { http.RequestAborted };
        if (method.Type != MethodType.Unary)
        {
            tokens.Add(runtime.ShuttingDown);
        }
        var header = http.Request.Headers[GrpcProtocol.TimeoutHeader].ToString();
        if (header.Length > 0)
        {
            if (!GrpcProtocol.TryParseTimeout(header, out var parsed))
            {
                throw new RpcException(StatusCode.InvalidArgument, $"Invalid grpc-timeout header '{header}'.");
            }
            if (parsed <= TimeSpan.FromDays(365))
            {
                _deadline = DateTime.UtcNow + parsed;
                _deadlineCts = new CancellationTokenSource(parsed);
                tokens.Add(_deadlineCts.Token);
            }
        }
        if (tokens.Count > 1)
        {
            _callCts = CancellationTokenSource.CreateLinkedTokenSource(tokens.ToArray());
        }
    }

    /// <summary>Adds the headers to the HTTP response; they are sent with the first body bytes, not flushed now.</summary>
    public override Task WriteResponseHeadersAsync(Metadata responseHeaders)
    {
        if (_headersWritten || ResponseStarted)
        {
            throw new InvalidOperationException("Response headers can only be sent once per call.");
        }
        _headersWritten = true;
        AppendHeaders(http.Response.Headers, responseHeaders);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Puts response trailers (once) where HTTP allows: as headers while the body has not started, as HTTP trailers when the
    /// protocol supports them (HTTP/2), otherwise they are dropped (HTTP/1.1 after a streamed body).
    /// </summary>
    public void WriteTrailers()
    {
        if (_trailersWritten || _responseTrailers is not { Count: > 0 })
        {
            return;
        }
        _trailersWritten = true;
        if (!ResponseStarted && !http.Response.HasStarted)
        {
            AppendHeaders(http.Response.Headers, _responseTrailers);
            return;
        }
        if (http.Response.SupportsTrailers())
        {
            foreach (var entry in _responseTrailers.Where(e => IsForwardable(e.Key)))
            {
                http.Response.AppendTrailer(entry.Key, HttpServerCallContext.EncodeValue(entry));
            }
        }
    }

    public void Dispose()
    {
        _callCts?.Dispose();
        _deadlineCts?.Dispose();
    }

    private static void AppendHeaders(IHeaderDictionary headers, Metadata metadata)
    {
        foreach (var entry in metadata.Where(e => IsForwardable(e.Key)))
        {
            headers.Append(entry.Key, HttpServerCallContext.EncodeValue(entry));
        }
    }

    private static bool IsForwardable(string key) => !GrpcProtocol.IsReservedHeader(key) && !HopByHopHeaders.Contains(key);
}
