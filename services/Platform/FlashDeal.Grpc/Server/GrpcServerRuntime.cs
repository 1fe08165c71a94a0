using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FlashDeal.Grpc;

/// <summary>Server-wide state shared by every call: options, codecs, logging and the shutdown signal.</summary>
internal sealed class GrpcServerRuntime(
    IOptions<GrpcServerOptions> options,
    ILogger<GrpcServerRuntime> logger,
    IHostApplicationLifetime lifetime)
{
    public GrpcServerOptions Options { get; } = options.Value;

    public CompressionProviders Compression { get; } = new(options.Value.CompressionProviders);

    public ILogger Logger { get; } = logger;

    /// <summary>Signalled when the host starts stopping: long streams end so shutdown can drain.</summary>
    public CancellationToken ShuttingDown { get; } = lifetime.ApplicationStopping;
}
