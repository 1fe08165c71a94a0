using System.IO.Compression;

namespace FlashDeal.ServiceDefaults;

/// <summary>The "Service" configuration section: how a FlashDeal service listens and stops.</summary>
public sealed class ServiceOptions
{
    public const string Section = "Service";

    /// <summary>Name used in telemetry and logs; defaults to the one the service passes in.</summary>
    public string? Name { get; set; }

    /// <summary>Address to bind; "0.0.0.0" in containers, "127.0.0.1" for local runs.</summary>
    public string BindAddress { get; set; } = "0.0.0.0";

    /// <summary>h2c port for gRPC (HTTP/2 only).</summary>
    public int GrpcPort { get; set; } = 50051;

    /// <summary>HTTP/1.1 port for REST (JSON transcoding) and the /healthz and /readyz probes.</summary>
    public int RestPort { get; set; } = 8080;

    /// <summary>Concurrent streams one HTTP/2 connection may carry (Kestrel's default of 100 throttles shared clients).</summary>
    public int MaxStreamsPerConnection { get; set; } = 1000;

    /// <summary>Largest gRPC message accepted; a larger one ends the call with RESOURCE_EXHAUSTED.</summary>
    public int MaxReceiveMessageSize { get; set; } = 4 * 1024 * 1024;

    /// <summary>Largest REST request body accepted; a larger one gets 413 with a google.rpc.Status body.</summary>
    public long MaxRequestBodySize { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// Largest request header block (both ports; also the largest single HTTP/2 header field): large enough that an
    /// oversized bearer token reaches token validation and is refused there with its reason (401 / UNAUTHENTICATED)
    /// instead of a bare 431 or a closed HTTP/2 connection. Above the edge's 128 KiB per header line.
    /// </summary>
    public int MaxRequestHeadersTotalSize { get; set; } = 160 * 1024;

    /// <summary>
    /// Responses from this size on are compressed when the client asks, smaller ones never: gRPC messages with gzip
    /// (per call, grpc-encoding), REST bodies with brotli or gzip (Accept-Encoding; <see cref="RestCompression"/>).
    /// 0: no response compression at all.
    /// </summary>
    public int ResponseCompressionMinSize { get; set; } = 1024;

    /// <summary>false: REST bodies always go uncompressed (gRPC messages still follow ResponseCompressionMinSize).</summary>
    public bool RestResponseCompression { get; set; } = true;

    /// <summary>Brotli and gzip level of REST bodies: Fastest (measured in docs/grpc-runtime.md, "Compression"), or Optimal.</summary>
    public CompressionLevel RestCompressionLevel { get; set; } = CompressionLevel.Fastest;

    /// <summary>How often the health checks are published to grpc.health.v1 Watch streams.</summary>
    public TimeSpan HealthCheckPeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long in-flight calls may finish after SIGTERM before the process exits.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(25);

    /// <summary>Put exception messages in UNKNOWN statuses (development only).</summary>
    public bool DetailedErrors { get; set; }
}
