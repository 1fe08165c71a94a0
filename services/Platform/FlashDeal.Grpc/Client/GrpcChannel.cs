using System.Net;
using System.Net.Sockets;
using FlashDeal.Grpc.Client;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FlashDeal.Grpc;

/// <summary>
/// A client connection to one gRPC target over h2c. "http://10.0.0.7:50051" talks to that address; "http://orders:50051"
/// and "dns:///orders-headless.ns.svc:50051" resolve the name to every address behind it and balance calls across them
/// (one HTTP/2 connection pool per address, re-resolved periodically). Create one per target and share it; it is thread-safe.
/// </summary>
public sealed class GrpcChannel : CallInvoker, IDisposable
{
    private readonly CancellationTokenSource _disposed = new();

    private GrpcChannel(string target, string authority, IAddressResolver resolver, GrpcChannelOptions options)
    {
        Target = target;
        Authority = authority;
        Options = options;
        Compression = new CompressionProviders(options.CompressionProviders);
        AcceptEncoding = Compression.AcceptEncoding;
        Logger = (options.LoggerFactory ?? NullLoggerFactory.Instance).CreateLogger<GrpcChannel>();
        Pool = new SubchannelPool(resolver, CreateSubchannel, options.ResolveInterval, Logger);
    }

    /// <summary>The address the channel was created for.</summary>
    public string Target { get; }

    /// <summary>Sent as :authority on every call, whichever address serves it.</summary>
    public string Authority { get; }

    internal GrpcChannelOptions Options { get; }

    internal CompressionProviders Compression { get; }

    internal string AcceptEncoding { get; }

    internal ILogger Logger { get; }

    internal SubchannelPool Pool { get; }

    internal CancellationToken DisposedToken => _disposed.Token;

    public static GrpcChannel ForAddress(Uri address, GrpcChannelOptions? options = null) =>
        ForAddress(address.OriginalString, options);

    /// <param name="address">"http://host:port" (h2c) or "dns:///host:port".</param>
    /// <param name="options">Channel settings; <see cref="GrpcChannelOptions.Resolver"/> replaces address resolution.</param>
    public static GrpcChannel ForAddress(string address, GrpcChannelOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        options ??= new GrpcChannelOptions();
        var (authority, resolver) = ParseTarget(address);
        return new GrpcChannel(address, authority, options.Resolver ?? resolver, options);
    }

    /// <summary>The :authority and the default resolver of a target: a literal IP is static, a name goes to DNS.</summary>
    internal static (string Authority, IAddressResolver Resolver) ParseTarget(string address)
    {
        string host;
        int port;
        string authority;
        if (address.StartsWith("dns:", StringComparison.OrdinalIgnoreCase))
        {
            var rest = address[4..];
            if (rest.StartsWith("//", StringComparison.Ordinal))
            {
                // dns://[dns-server]/host:port — the DNS server part is not supported and ignored.
                var slash = rest.IndexOf('/', 2);
                rest = slash < 0 ? "" : rest[(slash + 1)..];
            }
            (host, port) = SplitHostPort(rest, address);
            authority = host.Contains(':') ? $"[{host}]:{port}" : $"{host}:{port}";
        }
        else
        {
            if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp)
            {
                throw new ArgumentException(
                    $"Unsupported gRPC target '{address}': use http://host:port (h2c) or dns:///host:port.", nameof(address));
            }
            host = uri.DnsSafeHost;
            port = uri.Port;
            authority = uri.Authority;
        }
        IAddressResolver resolver = IPAddress.TryParse(host, out var ip)
            ? new StaticAddressResolver(new IPEndPoint(ip, port))
            : new DnsAddressResolver(host, port);
        return (authority, resolver);
    }

    private static (string Host, int Port) SplitHostPort(string value, string address)
    {
        string host;
        var port = 80;
        if (value.StartsWith('['))
        {
            var end = value.IndexOf(']');
            if (end < 0)
            {
                throw new ArgumentException($"Invalid gRPC target '{address}'.", nameof(address));
            }
            host = value[1..end];
            if (end + 1 < value.Length && (value[end + 1] != ':' || !int.TryParse(value.AsSpan(end + 2), out port)))
            {
                throw new ArgumentException($"Invalid port in gRPC target '{address}'.", nameof(address));
            }
        }
        else
        {
            var colon = value.LastIndexOf(':');
            host = colon < 0 ? value : value[..colon];
            if (colon >= 0 && !int.TryParse(value.AsSpan(colon + 1), out port))
            {
                throw new ArgumentException($"Invalid port in gRPC target '{address}'.", nameof(address));
            }
        }
        if (host.Length == 0 || port is <= 0 or > 65535)
        {
            throw new ArgumentException($"Invalid gRPC target '{address}'.", nameof(address));
        }
        return (host, port);
    }

    private Subchannel CreateSubchannel(IPEndPoint endPoint)
    {
        Subchannel? subchannel = null;
        var handler = new SocketsHttpHandler
        {
            // Connects here rather than in SocketsHttpHandler so that every failed connect puts the address in backoff,
            // also when the call that started it gave up first (a black-holed address times out, it is not refused).
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                var started = Environment.TickCount64;
                try
                {
                    await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch (Exception e)
                {
                    socket.Dispose();
                    // A cancellation is a failure only when it is the connect timeout, not a caller giving up.
                    var failed = e is not OperationCanceledException
                        || Environment.TickCount64 - started >= Options.ConnectTimeout.TotalMilliseconds * 0.9;
                    if (failed && subchannel is not null && !DisposedToken.IsCancellationRequested)
                    {
                        Pool.ReportConnectFailure(subchannel, e);
                    }
                    throw;
                }
            },
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Options.PooledConnectionIdleTimeout,
            KeepAlivePingDelay = Options.KeepAlivePingDelay,
            KeepAlivePingTimeout = Options.KeepAlivePingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            ConnectTimeout = Options.ConnectTimeout,
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
        };
        subchannel = new Subchannel(endPoint, Options.ConfigureHttpHandler?.Invoke(handler) ?? handler);
        return subchannel;
    }

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method,
        TRequest request, CallOptions options = default)
    {
        var call = NewCall(method, MethodType.Unary, options);
        return new AsyncUnaryCall<TResponse>(call.RunUnaryAsync(request), call);
    }

    public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, TRequest request, CallOptions options = default)
    {
        var call = NewCall(method, MethodType.ServerStreaming, options);
        call.StartServerStreaming(request);
        return new AsyncServerStreamingCall<TResponse>(new GrpcCall<TRequest, TResponse>.ResponseStream(call), call);
    }

    public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, CallOptions options = default)
    {
        var call = NewCall(method, MethodType.ClientStreaming, options);
        return new AsyncClientStreamingCall<TRequest, TResponse>(new GrpcCall<TRequest, TResponse>.RequestStream(call),
            call.RunClientStreamingAsync(), call);
    }

    public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
        Method<TRequest, TResponse> method, CallOptions options = default)
    {
        var call = NewCall(method, MethodType.DuplexStreaming, options);
        call.StartDuplexStreaming();
        return new AsyncDuplexStreamingCall<TRequest, TResponse>(new GrpcCall<TRequest, TResponse>.RequestStream(call),
            new GrpcCall<TRequest, TResponse>.ResponseStream(call), call);
    }

    private GrpcCall<TRequest, TResponse> NewCall<TRequest, TResponse>(Method<TRequest, TResponse> method,
        MethodType expected, CallOptions options)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        ArgumentNullException.ThrowIfNull(method);
        ObjectDisposedException.ThrowIf(_disposed.IsCancellationRequested, this);
        if (method.Type != expected)
        {
            throw new ArgumentException($"{method.FullName} is a {method.Type} method, not {expected}.", nameof(method));
        }
        return new GrpcCall<TRequest, TResponse>(this, method, options);
    }

    /// <summary>Cancels running calls and closes every connection.</summary>
    public void Dispose()
    {
        if (_disposed.IsCancellationRequested)
        {
            return;
        }
        _disposed.Cancel();
        Pool.Dispose();
    }

    public override string ToString() => Target;
}
