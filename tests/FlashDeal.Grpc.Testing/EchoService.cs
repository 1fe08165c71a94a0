using FlashDeal.Grpc.Testing.V1;
using Google.Protobuf;
using Google.Rpc;

namespace FlashDeal.Grpc.Testing;

[GrpcService("flashdeal.testing.v1.EchoService")]
public sealed class EchoService
{
    public async Task<EchoResponse> Echo(EchoRequest request, ServerCallContext context)
    {
        var echoed = new Metadata();
        foreach (var entry in context.RequestHeaders)
        {
            if (entry.Key.StartsWith("echo-", StringComparison.Ordinal))
            {
                echoed.Add(entry);
                context.ResponseTrailers.Add(entry.IsBinary
                    ? new Metadata.Entry("trailer-" + entry.Key, entry.ValueBytes)
                    : new Metadata.Entry("trailer-" + entry.Key, entry.Value));
            }
        }
        if (echoed.Count > 0)
        {
            await context.WriteResponseHeadersAsync(echoed);
        }
        return Reply(request.Message, request.Sequence, context);
    }

    public Task<EchoResponse> Fail(FailRequest request, ServerCallContext context)
    {
        var details = new List<IMessage>();
        if (request.Reason.Length > 0)
        {
            details.Add(new ErrorInfo { Reason = request.Reason, Domain = "testing.flashdeal.dev" });
        }
        if (request.Field.Length > 0)
        {
            details.Add(new BadRequest
            {
                FieldViolations = { new BadRequest.Types.FieldViolation { Field = request.Field, Description = request.Message } },
            });
        }
        throw RpcException.WithDetails((StatusCode)request.Code, request.Message, details.ToArray());
    }

    public async Task<EchoResponse> Sleep(SleepRequest request, ServerCallContext context)
    {
        await Task.Delay(request.DelayMs, context.CancellationToken);
        return Reply(request.Message, 0, context);
    }

    public async Task Expand(ExpandRequest request, IServerStreamWriter<EchoResponse> responseStream, ServerCallContext context)
    {
        for (var i = 0; i < request.Count; i++)
        {
            if (i > 0 && request.IntervalMs > 0)
            {
                await Task.Delay(request.IntervalMs, context.CancellationToken);
            }
            await responseStream.WriteAsync(Reply($"{request.Message}-{i}", i, context));
        }
    }

    public async Task<EchoResponse> Collect(IAsyncStreamReader<EchoRequest> requestStream, ServerCallContext context)
    {
        var parts = new List<string>();
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
        {
            parts.Add(request.Message);
        }
        return Reply(string.Join(",", parts), parts.Count, context);
    }

    public async Task Chat(IAsyncStreamReader<EchoRequest> requestStream, IServerStreamWriter<EchoResponse> responseStream,
        ServerCallContext context)
    {
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
        {
            await responseStream.WriteAsync(Reply(request.Message, request.Sequence, context));
        }
    }

    public Task<PayloadResponse> Payload(PayloadRequest request, ServerCallContext context) =>
        Task.FromResult(new PayloadResponse
        {
            ReceivedSize = request.Body.Length,
            Body = request.ResponseSize > 0 ? ByteString.CopyFrom(new byte[request.ResponseSize]) : ByteString.Empty,
        });

    private static EchoResponse Reply(string message, int sequence, ServerCallContext context) => new()
    {
        Message = message,
        Sequence = sequence,
        Peer = context.Peer,
        DeadlineMsLeft = context.Deadline == DateTime.MaxValue
            ? -1
            : (long)Math.Max(0, (context.Deadline - DateTime.UtcNow).TotalMilliseconds),
    };
}
