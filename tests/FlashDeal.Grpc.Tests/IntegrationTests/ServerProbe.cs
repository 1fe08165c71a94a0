using System.Collections.Concurrent;
using System.Globalization;
using FlashDeal.Grpc.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace FlashDeal.Grpc.Tests.IntegrationTests;

/// <summary>
/// Test hooks inside one Echo server: counts calls, and for calls tagged with a probe id records when the handler started
/// and ended (and whether its token was cancelled), what encoding the request used, and fails the first N attempts.
/// </summary>
public sealed class ServerProbe
{
    public const string IdHeader = "probe-id";
    public const string FailFirstHeader = "probe-fail-first";

    private readonly ConcurrentDictionary<string, CallObservation> _calls = new();
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public CallObservation Observe(string id) => _calls.GetOrAdd(id, _ => new CallObservation());

    /// <summary>Request headers that tag a call; <paramref name="failFirst"/> attempts answer UNAVAILABLE.</summary>
    public static Metadata Tag(string id, int failFirst = 0)
    {
        var headers = new Metadata { { IdHeader, id } };
        if (failFirst > 0)
        {
            headers.Add(FailFirstHeader, failFirst.ToString(CultureInfo.InvariantCulture));
        }
        return headers;
    }

    public static string NewId() => Guid.NewGuid().ToString("N");

    /// <summary>Starts an Echo host whose calls go through this probe.</summary>
    public Task<EchoServerHost> StartHostAsync(Action<GrpcServerOptions>? configure = null,
        Action<WebApplicationBuilder>? configureBuilder = null) =>
        EchoServerHost.StartAsync(options =>
        {
            options.AddInterceptor<ProbeInterceptor>();
            configure?.Invoke(options);
        }, configureBuilder: builder =>
        {
            builder.Services.AddSingleton(this);
            configureBuilder?.Invoke(builder);
        });

    internal CallObservation? Enter(ServerCallContext context)
    {
        Interlocked.Increment(ref _count);
        var id = context.RequestHeaders.GetValue(IdHeader);
        if (id is null)
        {
            return null;
        }
        var observation = Observe(id);
        var attempt = Interlocked.Increment(ref observation.AttemptCount);
        var request = context.GetHttpContext().Request;
        observation.RequestEncoding = request.Headers[GrpcProtocol.EncodingHeader].ToString();
        observation.PreviousAttempts = request.Headers["grpc-previous-rpc-attempts"].ToString();
        observation.Started.TrySetResult();
        if (int.TryParse(context.RequestHeaders.GetValue(FailFirstHeader), out var failFirst) && attempt <= failFirst)
        {
            observation.Ended.TrySetResult(false);
            throw new RpcException(StatusCode.Unavailable, $"Failing attempt {attempt} of {failFirst} on purpose.");
        }
        return observation;
    }

    public sealed class CallObservation
    {
        internal int AttemptCount;

        public int Attempts => Volatile.Read(ref AttemptCount);

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes when the handler returns or throws: true when its cancellation token had fired.</summary>
        public TaskCompletionSource<bool> Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string? RequestEncoding { get; internal set; }

        public string? PreviousAttempts { get; internal set; }
    }
}

internal sealed class ProbeInterceptor(ServerProbe probe) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request,
        ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var observation = probe.Enter(context);
        try
        {
            return await continuation(request, context);
        }
        finally
        {
            observation?.Ended.TrySetResult(context.CancellationToken.IsCancellationRequested);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var observation = probe.Enter(context);
        try
        {
            await continuation(request, responseStream, context);
        }
        finally
        {
            observation?.Ended.TrySetResult(context.CancellationToken.IsCancellationRequested);
        }
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context,
        ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var observation = probe.Enter(context);
        try
        {
            return await continuation(requestStream, context);
        }
        finally
        {
            observation?.Ended.TrySetResult(context.CancellationToken.IsCancellationRequested);
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var observation = probe.Enter(context);
        try
        {
            await continuation(requestStream, responseStream, context);
        }
        finally
        {
            observation?.Ended.TrySetResult(context.CancellationToken.IsCancellationRequested);
        }
    }
}
