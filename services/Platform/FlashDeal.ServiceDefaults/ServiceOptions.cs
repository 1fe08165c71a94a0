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

    /// <summary>How long in-flight calls may finish after SIGTERM before the process exits.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(25);

    /// <summary>Put exception messages in UNKNOWN statuses (development only).</summary>
    public bool DetailedErrors { get; set; }
}
