using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace FlashDeal.Grpc.Client;

/// <summary>Pure functions that turn HTTP/2 responses and transport errors into gRPC statuses and metadata.</summary>
internal static class GrpcResponse
{
    public const string RetryPushbackHeader = "grpc-retry-pushback-ms";

    /// <summary>The gRPC spec's mapping for responses that are not HTTP 200.</summary>
    public static StatusCode FromHttpStatus(HttpStatusCode code) => code switch
    {
        HttpStatusCode.BadRequest => StatusCode.Internal,
        HttpStatusCode.Unauthorized => StatusCode.Unauthenticated,
        HttpStatusCode.Forbidden => StatusCode.PermissionDenied,
        HttpStatusCode.NotFound => StatusCode.Unimplemented,
        HttpStatusCode.TooManyRequests or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable
            or HttpStatusCode.GatewayTimeout => StatusCode.Unavailable,
        _ => StatusCode.Unknown,
    };

    /// <summary>
    /// The status carried by response headers: mapped from a non-200 HTTP status, taken from a trailers-only response,
    /// or INTERNAL for a 200 that is not gRPC. Null for a normal response whose status comes in trailers.
    /// </summary>
    public static Status? FromResponseHeaders(HttpResponseMessage response)
    {
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return new Status(FromHttpStatus(response.StatusCode),
                $"Bad gRPC response. HTTP status code: {(int)response.StatusCode}");
        }
        if (ReadStatus(response.Headers) is { } status)
        {
            return status;
        }
        var contentType = response.Content.Headers.NonValidated.TryGetValues("Content-Type", out var values)
            ? values.ToString()
            : null;
        if (!GrpcProtocol.IsGrpcContentType(contentType))
        {
            return new Status(StatusCode.Internal, $"Bad gRPC response. Invalid content-type value: {contentType}");
        }
        return null;
    }

    /// <summary>grpc-status, grpc-message and grpc-status-details-bin of a header block; null without grpc-status.</summary>
    public static Status? ReadStatus(HttpHeaders headers)
    {
        var values = headers.NonValidated;
        if (!values.TryGetValues(GrpcProtocol.StatusHeader, out var statusValue))
        {
            return null;
        }
        if (!int.TryParse(statusValue.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var code))
        {
            return new Status(StatusCode.Unknown, $"Unexpected grpc-status value '{statusValue}'.");
        }
        var message = values.TryGetValues(GrpcProtocol.MessageHeader, out var m) ? Status.DecodeMessage(m.ToString()) : "";
        Google.Rpc.Status? rich = null;
        if (values.TryGetValues(GrpcProtocol.StatusDetailsHeader, out var details)
            && GrpcProtocol.TryDecodeBinaryHeader(details.ToString(), out var bytes))
        {
            try
            {
                rich = Google.Rpc.Status.Parser.ParseFrom(bytes);
            }
            catch (Google.Protobuf.InvalidProtocolBufferException)
            {
                // Details are optional: a malformed blob must not hide the status itself.
            }
        }
        return new Status((StatusCode)code, message, rich);
    }

    /// <summary>User metadata of a header block: reserved and HTTP content headers are left out, -bin values decoded.</summary>
    public static Metadata ReadMetadata(HttpHeaders headers)
    {
        var metadata = new Metadata();
        foreach (var (key, values) in headers.NonValidated)
        {
            if (GrpcProtocol.IsReservedHeader(key))
            {
                continue;
            }
            var lower = key.ToLowerInvariant();
            var binary = Metadata.IsBinaryKey(lower);
            foreach (var value in values)
            {
                if (!binary)
                {
                    metadata.Add(lower, value);
                    continue;
                }
                foreach (var part in value.Split(','))
                {
                    if (GrpcProtocol.TryDecodeBinaryHeader(part.Trim(), out var bytes))
                    {
                        metadata.Add(lower, bytes);
                    }
                }
            }
        }
        return metadata;
    }

    /// <summary>Server pushback: a delay, TimeSpan.MinValue for "do not retry", or null when absent.</summary>
    public static TimeSpan? ReadRetryPushback(Metadata trailers)
    {
        var value = trailers.GetValue(RetryPushbackHeader);
        if (value is null)
        {
            return null;
        }
        return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var ms)
            ? TimeSpan.FromMilliseconds(ms)
            : TimeSpan.MinValue;
    }

    /// <summary>True when the request never reached the server, so it can go to another address whatever the method.</summary>
    public static bool IsConnectFailure(Exception e) =>
        e is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError }
        || e is OperationCanceledException { InnerException: TimeoutException };

    /// <summary>
    /// Maps a transport failure: HTTP/2 error codes per the gRPC spec, except NO_ERROR, which in practice means a server
    /// closed the connection (graceful GOAWAY) under a call in flight, a transient UNAVAILABLE. Anything else lost the
    /// connection: UNAVAILABLE.
    /// </summary>
    public static Status FromTransportException(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is HttpProtocolException protocol)
            {
                var code = protocol.ErrorCode switch
                {
                    0x0 or 0x7 => StatusCode.Unavailable,
                    0x8 => StatusCode.Cancelled,
                    0xb => StatusCode.ResourceExhausted,
                    0xc => StatusCode.PermissionDenied,
                    _ => StatusCode.Internal,
                };
                return new Status(code, $"HTTP/2 error {protocol.ErrorCode}: {protocol.Message}");
            }
        }
        return new Status(StatusCode.Unavailable, IsConnectFailure(e) ? $"Error connecting: {e.Message}" : e.Message);
    }
}
