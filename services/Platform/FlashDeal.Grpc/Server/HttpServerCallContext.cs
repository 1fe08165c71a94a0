using System.Buffers;
using System.IO.Pipelines;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Primitives;

namespace FlashDeal.Grpc;

/// <summary>The call context of one HTTP/2 gRPC request on Kestrel.</summary>
internal sealed class HttpServerCallContext : ServerCallContext, IDisposable
{
    private readonly HttpContext _http;
    private readonly GrpcServerRuntime _runtime;
    private readonly ServiceMethod _method;
    private CancellationTokenSource? _callCts;
    private CancellationTokenSource? _deadlineCts;
    private Metadata? _requestHeaders;
    private Metadata? _responseTrailers;
    private ICompressionProvider? _requestCompression;
    private ICompressionProvider? _responseCompression;
    private bool _headersWritten;
    private int _writing;

    public HttpServerCallContext(HttpContext http, GrpcServerRuntime runtime, ServiceMethod method)
    {
        _http = http;
        _runtime = runtime;
        _method = method;
    }

    public override string Method => _method.FullName;

    public override string Host => _http.Request.Host.Value ?? "";

    public override string Peer => FormatPeer(_http);

    private DateTime _deadline = DateTime.MaxValue;

    public override DateTime Deadline => _deadline;

    public override Metadata RequestHeaders => _requestHeaders ??= ReadMetadata(_http.Request.Headers);

    public override CancellationToken CancellationToken => _callCts?.Token ?? _http.RequestAborted;

    public override Metadata ResponseTrailers => _responseTrailers ??= [];

    public override bool IsTranscoded => false;

    public bool MessageWritten { get; private set; }

    public bool DeadlineExceeded =>
        _deadlineCts?.IsCancellationRequested == true || (_deadline != DateTime.MaxValue && DateTime.UtcNow >= _deadline);

    public bool ServerShuttingDown => _runtime.ShuttingDown.IsCancellationRequested;

    public override HttpContext GetHttpContext() => _http;

    /// <summary>Validates the request and sets up deadline and codecs. Returns false when it already answered.</summary>
    public bool Initialize()
    {
        var request = _http.Request;
        var response = _http.Response;
        if (!GrpcProtocol.IsGrpcContentType(request.ContentType))
        {
            response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            WriteStatusToHeaders(new Status(StatusCode.Internal, $"Content-Type '{request.ContentType}' is not supported."));
            return false;
        }
        if (!HttpProtocol.IsHttp2(request.Protocol) && !HttpProtocol.IsHttp3(request.Protocol))
        {
            response.StatusCode = StatusCodes.Status426UpgradeRequired;
            response.Headers.Upgrade = "h2c";
            WriteStatusToHeaders(new Status(StatusCode.Internal, $"Request protocol '{request.Protocol}' is not supported."));
            return false;
        }

        response.ContentType = GrpcProtocol.ContentType;

        // We enforce our own message size limit; streams may legitimately idle.
        if (_http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = null;
        }
        if (_method.Type != MethodType.Unary && _http.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } rate)
        {
            rate.MinDataRate = null;
        }

        var encoding = request.Headers[GrpcProtocol.EncodingHeader].ToString();
        if (encoding.Length > 0 && !encoding.Equals(GrpcProtocol.IdentityEncoding, StringComparison.OrdinalIgnoreCase))
        {
            _requestCompression = _runtime.Compression.Find(encoding);
            if (_requestCompression is null)
            {
                response.Headers[GrpcProtocol.AcceptEncodingHeader] = _runtime.Compression.AcceptEncoding;
                WriteStatusToHeaders(new Status(StatusCode.Unimplemented,
                    $"Unsupported grpc-encoding value '{encoding}'. Supported encodings: {_runtime.Compression.AcceptEncoding}"));
                return false;
            }
        }
        if (_runtime.Options.ResponseCompressionAlgorithm is { } wanted && ClientAccepts(wanted))
        {
            _responseCompression = _runtime.Compression.Find(wanted);
        }

        var tokens = new List<CancellationToken>(3) { _http.RequestAborted };
        if (_method.Type != MethodType.Unary)
        {
            tokens.Add(_runtime.ShuttingDown);
        }
        var timeoutHeader = request.Headers[GrpcProtocol.TimeoutHeader].ToString();
        TimeSpan? timeout = null;
        if (timeoutHeader.Length > 0)
        {
            if (!GrpcProtocol.TryParseTimeout(timeoutHeader, out var parsed))
            {
                WriteStatusToHeaders(new Status(StatusCode.Internal, $"Invalid grpc-timeout '{timeoutHeader}'."));
                return false;
            }
            timeout = parsed;
            _deadline = parsed > TimeSpan.FromDays(365) ? DateTime.MaxValue : DateTime.UtcNow + parsed;
        }
        if (timeout is { } t && _deadline != DateTime.MaxValue)
        {
            // Timers round to whole milliseconds and may fire before the clock reaches _deadline: remember they fired.
            _deadlineCts = new CancellationTokenSource(t);
            tokens.Add(_deadlineCts.Token);
        }
        if (tokens.Count > 1)
        {
            _callCts = CancellationTokenSource.CreateLinkedTokenSource(tokens.ToArray());
        }
        return true;
    }

    private bool ClientAccepts(string encoding)
    {
        foreach (var value in _http.Request.Headers[GrpcProtocol.AcceptEncodingHeader])
        {
            foreach (var part in (value ?? "").Split(','))
            {
                if (part.Trim().Equals(encoding, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }
        return false;
    }

    public override Task WriteResponseHeadersAsync(Metadata responseHeaders)
    {
        if (_headersWritten)
        {
            throw new InvalidOperationException("Response headers can only be sent once per call.");
        }
        foreach (var entry in responseHeaders)
        {
            if (GrpcProtocol.IsReservedHeader(entry.Key))
            {
                continue;
            }
            _http.Response.Headers.Append(entry.Key, EncodeValue(entry));
        }
        EnsureHeaders();
        return _http.Response.BodyWriter.FlushAsync().AsTask();
    }

    private void EnsureHeaders()
    {
        if (_headersWritten)
        {
            return;
        }
        _headersWritten = true;
        if (_responseCompression is not null)
        {
            _http.Response.Headers[GrpcProtocol.EncodingHeader] = _responseCompression.EncodingName;
        }
        _http.Response.Headers[GrpcProtocol.AcceptEncodingHeader] = _runtime.Compression.AcceptEncoding;
    }

    public async Task WriteMessageAsync(IMessage message, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _writing, 1) == 1)
        {
            throw new InvalidOperationException("Only one write can be pending at a time.");
        }
        try
        {
            EnsureHeaders();
            GrpcProtocol.WriteFrame(_http.Response.BodyWriter, message, _runtime.Options.MaxSendMessageSize,
                _responseCompression);
            MessageWritten = true;
            var flush = await _http.Response.BodyWriter.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (flush.IsCanceled)
            {
                throw new OperationCanceledException(cancellationToken);
            }
        }
        finally
        {
            Volatile.Write(ref _writing, 0);
        }
    }

    /// <summary>Reads the next request message, or null at the end of the request stream.</summary>
    public async ValueTask<T?> ReadMessageAsync<T>(MessageParser<T> parser, CancellationToken cancellationToken)
        where T : class, IMessage<T>
    {
        var reader = _http.Request.BodyReader;
        while (true)
        {
            ReadResult result;
            try
            {
                result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (IOException) when (cancellationToken.IsCancellationRequested || _http.RequestAborted.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancellationToken);
            }
            var buffer = result.Buffer;
            try
            {
                if (GrpcProtocol.TryReadFrame(ref buffer, _runtime.Options.MaxReceiveMessageSize, out var compressed,
                        out var payload))
                {
                    T message;
                    try
                    {
                        message = GrpcProtocol.ParsePayload(parser, payload, compressed, _requestCompression,
                            _runtime.Options.MaxReceiveMessageSize);
                    }
                    catch (InvalidProtocolBufferException e)
                    {
                        throw new RpcException(StatusCode.Internal, $"Failed to deserialize request message: {e.Message}");
                    }
                    reader.AdvanceTo(buffer.Start);
                    return message;
                }
                if (result.IsCompleted)
                {
                    if (buffer.Length > 0)
                    {
                        throw new RpcException(StatusCode.Internal, "Incomplete message at the end of the request stream.");
                    }
                    reader.AdvanceTo(buffer.End);
                    return null;
                }
                reader.AdvanceTo(buffer.Start, buffer.End);
            }
            catch
            {
                reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                throw;
            }
        }
    }

    /// <summary>Ends the call: the status goes in trailers, or in headers for a trailers-only response.</summary>
    public void Complete(Status status)
    {
        if (_http.Response.HasStarted && !_headersWritten && !MessageWritten)
        {
            // Headers went out through some other path; still trailers.
            _headersWritten = true;
        }
        if (!_headersWritten && !MessageWritten)
        {
            WriteStatusToHeaders(status);
            return;
        }
        var response = _http.Response;
        if (!response.SupportsTrailers())
        {
            return;
        }
        response.AppendTrailer(GrpcProtocol.StatusHeader, ((int)status.StatusCode).ToString());
        if (status.Detail.Length > 0)
        {
            response.AppendTrailer(GrpcProtocol.MessageHeader, Status.EncodeMessage(status.Detail));
        }
        if (status.RichStatus is { } rich)
        {
            response.AppendTrailer(GrpcProtocol.StatusDetailsHeader, GrpcProtocol.EncodeBinaryHeader(rich.ToByteArray()));
        }
        if (_responseTrailers is { Count: > 0 })
        {
            foreach (var entry in _responseTrailers)
            {
                if (!GrpcProtocol.IsReservedHeader(entry.Key))
                {
                    response.AppendTrailer(entry.Key, EncodeValue(entry));
                }
            }
        }
    }

    private void WriteStatusToHeaders(Status status)
    {
        var headers = _http.Response.Headers;
        if (string.IsNullOrEmpty(headers.ContentType))
        {
            headers.ContentType = GrpcProtocol.ContentType;
        }
        headers[GrpcProtocol.StatusHeader] = ((int)status.StatusCode).ToString();
        if (status.Detail.Length > 0)
        {
            headers[GrpcProtocol.MessageHeader] = Status.EncodeMessage(status.Detail);
        }
        if (status.RichStatus is { } rich)
        {
            headers[GrpcProtocol.StatusDetailsHeader] = GrpcProtocol.EncodeBinaryHeader(rich.ToByteArray());
        }
        if (_responseTrailers is { Count: > 0 })
        {
            foreach (var entry in _responseTrailers)
            {
                if (!GrpcProtocol.IsReservedHeader(entry.Key))
                {
                    headers.Append(entry.Key, EncodeValue(entry));
                }
            }
        }
    }

    public void Dispose()
    {
        _callCts?.Dispose();
        _deadlineCts?.Dispose();
    }

    /// <summary>
    /// Every header but the protocol's own (and those <paramref name="skip"/> names) becomes metadata; header names
    /// metadata cannot hold are passed over rather than failing the call.
    /// </summary>
    internal static Metadata ReadMetadata(IHeaderDictionary headers, Func<string, bool>? skip = null)
    {
        var metadata = new Metadata();
        foreach (var (key, values) in headers)
        {
            if (GrpcProtocol.IsReservedHeader(key) || !Metadata.IsValidKey(key) || skip?.Invoke(key) == true)
            {
                continue;
            }
            var lower = key.ToLowerInvariant();
            foreach (var value in values)
            {
                if (value is null)
                {
                    continue;
                }
                if (Metadata.IsBinaryKey(lower))
                {
                    // A binary header may hold several comma-separated base64 values.
                    foreach (var part in value.Split(','))
                    {
                        if (GrpcProtocol.TryDecodeBinaryHeader(part.Trim(), out var bytes))
                        {
                            metadata.Add(lower, bytes);
                        }
                    }
                }
                else
                {
                    metadata.Add(lower, value);
                }
            }
        }
        return metadata;
    }

    internal static StringValues EncodeValue(Metadata.Entry entry) =>
        entry.IsBinary ? GrpcProtocol.EncodeBinaryHeader(entry.ValueBytes) : entry.Value;

    internal static string FormatPeer(HttpContext http)
    {
        var connection = http.Connection;
        if (connection.RemoteIpAddress is null)
        {
            return "unknown";
        }
        return connection.RemoteIpAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? $"ipv6:[{connection.RemoteIpAddress}]:{connection.RemotePort}"
            : $"ipv4:{connection.RemoteIpAddress}:{connection.RemotePort}";
    }
}
