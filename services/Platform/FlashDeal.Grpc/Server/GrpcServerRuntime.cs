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

    /// <summary>
    /// The status a call ends with when its handler threw: RpcException as given (its trailers kept), cancellation by
    /// cause (deadline, shutdown, client gone), anything else UNKNOWN and logged.
    /// </summary>
    public Status StatusFromException(Exception e, ServerCallContext context, bool deadlineExceeded, bool shuttingDown,
        string method)
    {
        switch (e)
        {
            case RpcException rpc:
                foreach (var entry in rpc.Trailers)
                {
                    context.ResponseTrailers.Add(entry);
                }
                return rpc.Status;
            case OperationCanceledException or IOException when deadlineExceeded:
                return new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded");
            case OperationCanceledException or IOException when shuttingDown:
                return new Status(StatusCode.Unavailable, "Server is shutting down.");
            case OperationCanceledException or IOException when context.GetHttpContext().RequestAborted.IsCancellationRequested:
                return new Status(StatusCode.Cancelled, "Call cancelled by the client.");
            default:
                Logger.LogError(e, "Unhandled exception in {Method}", method);
                return new Status(StatusCode.Unknown, Options.EnableDetailedErrors
                    ? $"Exception was thrown by handler. {e.GetType().Name}: {e.Message}"
                    : "Exception was thrown by handler.");
        }
    }
}
