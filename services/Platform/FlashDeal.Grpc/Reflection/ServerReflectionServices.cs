using Google.Protobuf;
using V1 = Grpc.Reflection.V1;
using V1Alpha = Grpc.Reflection.V1Alpha;

namespace FlashDeal.Grpc;

[GrpcService("grpc.reflection.v1.ServerReflection")]
internal sealed class ServerReflectionServiceV1(ServerReflectionHandler handler)
{
    public async Task ServerReflectionInfo(IAsyncStreamReader<V1.ServerReflectionRequest> requestStream,
        IServerStreamWriter<V1.ServerReflectionResponse> responseStream, ServerCallContext context)
    {
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
        {
            await responseStream.WriteAsync(handler.Handle(request)).ConfigureAwait(false);
        }
    }
}

/// <summary>The deprecated v1alpha name, still asked for first by older grpcurl and other tools.</summary>
[GrpcService("grpc.reflection.v1alpha.ServerReflection")]
internal sealed class ServerReflectionServiceV1Alpha(ServerReflectionHandler handler)
{
    public async Task ServerReflectionInfo(IAsyncStreamReader<V1Alpha.ServerReflectionRequest> requestStream,
        IServerStreamWriter<V1Alpha.ServerReflectionResponse> responseStream, ServerCallContext context)
    {
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken).ConfigureAwait(false))
        {
            // v1alpha and v1 messages are identical on the wire, so a byte round trip converts them.
            var answer = handler.Handle(V1.ServerReflectionRequest.Parser.ParseFrom(request.ToByteString()));
            await responseStream.WriteAsync(V1Alpha.ServerReflectionResponse.Parser.ParseFrom(answer.ToByteString()))
                .ConfigureAwait(false);
        }
    }
}
