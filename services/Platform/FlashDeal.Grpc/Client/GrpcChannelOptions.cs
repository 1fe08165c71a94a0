using Microsoft.Extensions.Logging;

namespace FlashDeal.Grpc;

public sealed class GrpcChannelOptions
{
    /// <summary>Largest response message accepted; larger ones fail the call with RESOURCE_EXHAUSTED. Default 4 MiB.</summary>
    public int MaxReceiveMessageSize { get; set; } = GrpcProtocol.DefaultMaxReceiveMessageSize;

    /// <summary>Largest request message sent; larger ones fail with RESOURCE_EXHAUSTED before sending. Default unlimited.</summary>
    public int MaxSendMessageSize { get; set; } = int.MaxValue;

    /// <summary>grpc-encoding for request messages ("gzip"); null sends them uncompressed. CallOptions.Compression overrides it.</summary>
    public string? SendCompression { get; set; }

    /// <summary>Codecs for sending and for decoding responses; all are advertised in grpc-accept-encoding.</summary>
    public List<ICompressionProvider> CompressionProviders { get; } = [new GzipCompressionProvider()];

    /// <summary>Retries for idempotent calls; null disables them. Connection failures are always retried on another address.</summary>
    public RetryPolicy? RetryPolicy { get; set; } = RetryPolicy.Default;

    /// <summary>Where the addresses behind the target come from; null derives it from the address (DNS or a literal IP).</summary>
    public IAddressResolver? Resolver { get; set; }

    /// <summary>How often the target is resolved again to pick up added and removed addresses (≤ 0: never). Default 30 s.</summary>
    public TimeSpan ResolveInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>An address that does not accept a connection within this time is put in backoff. Default 5 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Idle HTTP/2 connections are closed after this long. Default 5 minutes.</summary>
    public TimeSpan PooledConnectionIdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>HTTP/2 PING interval while calls are active, to detect dead connections. Default 60 s.</summary>
    public TimeSpan KeepAlivePingDelay { get; set; } = TimeSpan.FromSeconds(60);

    public TimeSpan KeepAlivePingTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Called once per address with its SocketsHttpHandler; may return it wrapped in DelegatingHandlers
    /// (auth headers, logging, fault injection in tests).
    /// </summary>
    public Func<SocketsHttpHandler, HttpMessageHandler>? ConfigureHttpHandler { get; set; }

    public ILoggerFactory? LoggerFactory { get; set; }
}
