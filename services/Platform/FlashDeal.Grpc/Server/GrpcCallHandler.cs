using System.Diagnostics;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FlashDeal.Grpc;

/// <summary>Runs one gRPC call of any of the four kinds over HTTP/2 and ends it with a status.</summary>
internal static class GrpcCallHandler<TRequest, TResponse>
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    private static readonly MessageParser<TRequest> Parser = new(() => new TRequest());

    public static async Task HandleAsync<TService>(HttpContext http, GrpcServerRuntime runtime,
        ServiceMethod<TService, TRequest, TResponse> method) where TService : class
    {
        using var context = new HttpServerCallContext(http, runtime, method);
        if (!context.Initialize())
        {
            return;
        }
        var started = Stopwatch.GetTimestamp();
        using var activity = GrpcTelemetry.StartServerActivity(method);
        Status status;
        try
        {
            switch (method.Type)
            {
                case MethodType.Unary:
                    {
                        var request = await ReadSingleAsync(context).ConfigureAwait(false);
                        var response = await method.Unary(request, context).ConfigureAwait(false);
                        ThrowIfDeadlinePassed(context);
                        await context.WriteMessageAsync(response, context.CancellationToken).ConfigureAwait(false);
                        break;
                    }
                case MethodType.ServerStreaming:
                    {
                        var request = await ReadSingleAsync(context).ConfigureAwait(false);
                        await method.ServerStreaming(request, new ResponseStream(context), context).ConfigureAwait(false);
                        break;
                    }
                case MethodType.ClientStreaming:
                    {
                        var response = await method.ClientStreaming(new RequestStream(context), context).ConfigureAwait(false);
                        ThrowIfDeadlinePassed(context);
                        await context.WriteMessageAsync(response, context.CancellationToken).ConfigureAwait(false);
                        break;
                    }
                default:
                    await method.DuplexStreaming(new RequestStream(context), new ResponseStream(context), context)
                        .ConfigureAwait(false);
                    break;
            }
            status = context.Status;
        }
        catch (Exception e)
        {
            status = runtime.StatusFromException(e, context, context.DeadlineExceeded, context.ServerShuttingDown, method.FullName);
        }

        if (http.RequestAborted.IsCancellationRequested && status.StatusCode != StatusCode.OK)
        {
            // The client is gone (it cancelled or hit its own deadline): nothing can be sent.
            status = new Status(StatusCode.Cancelled, "Call cancelled by the client.");
        }
        else
        {
            context.Complete(status);
        }
        GrpcTelemetry.RecordServerCall(method, status.StatusCode, started, activity);
    }

    private static async Task<TRequest> ReadSingleAsync(HttpServerCallContext context)
    {
        var request = await context.ReadMessageAsync(Parser, context.CancellationToken).ConfigureAwait(false)
            ?? throw new RpcException(StatusCode.Internal, "Request did not include a message.");
        if (await context.ReadMessageAsync(Parser, context.CancellationToken).ConfigureAwait(false) is not null)
        {
            throw new RpcException(StatusCode.Internal, "Request included more than one message for a single-request method.");
        }
        return request;
    }

    private static void ThrowIfDeadlinePassed(HttpServerCallContext context)
    {
        if (context.DeadlineExceeded)
        {
            throw new RpcException(StatusCode.DeadlineExceeded, "Deadline Exceeded");
        }
    }

    private sealed class RequestStream(HttpServerCallContext context) : IAsyncStreamReader<TRequest>
    {
        public TRequest Current { get; private set; } = null!;

        public async Task<bool> MoveNext(CancellationToken cancellationToken = default)
        {
            using var linked = cancellationToken.CanBeCanceled
                ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, context.CancellationToken)
                : null;
            var message = await context.ReadMessageAsync(Parser, linked?.Token ?? context.CancellationToken)
                .ConfigureAwait(false);
            if (message is null)
            {
                return false;
            }
            Current = message;
            return true;
        }
    }

    private sealed class ResponseStream(HttpServerCallContext context) : IServerStreamWriter<TResponse>
    {
        public Task WriteAsync(TResponse message) => WriteAsync(message, CancellationToken.None);

        public Task WriteAsync(TResponse message, CancellationToken cancellationToken)
        {
            var token = cancellationToken.CanBeCanceled ? cancellationToken : context.CancellationToken;
            return context.WriteMessageAsync(message, token);
        }
    }
}
