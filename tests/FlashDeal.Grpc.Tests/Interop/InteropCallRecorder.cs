using System.Collections.Concurrent;

namespace FlashDeal.Grpc.Tests.Interop;

/// <summary>What the server saw of each call an interop client tagged with "x-interop-case".</summary>
public sealed record RecordedCall(string Case, string Method, string UserAgent, string? Encoding, string? AcceptEncoding,
    string? Timeout);

public sealed class InteropCallRecorder
{
    private readonly ConcurrentQueue<RecordedCall> _calls = new();

    public IReadOnlyList<RecordedCall> Calls => _calls.ToArray();

    public IReadOnlyList<RecordedCall> For(string interopCase) => _calls.Where(c => c.Case == interopCase).ToArray();

    internal void Record(ServerCallContext context)
    {
        var headers = context.GetHttpContext().Request.Headers;
        var interopCase = headers["x-interop-case"].ToString();
        if (interopCase.Length == 0)
        {
            return;
        }
        _calls.Enqueue(new RecordedCall(interopCase, context.Method, headers.UserAgent.ToString(),
            NullIfEmpty(headers[GrpcProtocol.EncodingHeader].ToString()),
            NullIfEmpty(headers[GrpcProtocol.AcceptEncodingHeader].ToString()),
            NullIfEmpty(headers[GrpcProtocol.TimeoutHeader].ToString())));
    }

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;

    /// <summary>Records every call, whatever its kind, before it runs.</summary>
    public sealed class RecordingInterceptor(InteropCallRecorder recorder) : Interceptor
    {
        public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
            UnaryServerMethod<TRequest, TResponse> continuation)
        {
            recorder.Record(context);
            return continuation(request, context);
        }

        public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request,
            IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
            ServerStreamingServerMethod<TRequest, TResponse> continuation)
        {
            recorder.Record(context);
            return continuation(request, responseStream, context);
        }

        public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
            IAsyncStreamReader<TRequest> requestStream, ServerCallContext context,
            ClientStreamingServerMethod<TRequest, TResponse> continuation)
        {
            recorder.Record(context);
            return continuation(requestStream, context);
        }

        public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
            IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
            DuplexStreamingServerMethod<TRequest, TResponse> continuation)
        {
            recorder.Record(context);
            return continuation(requestStream, responseStream, context);
        }
    }
}
