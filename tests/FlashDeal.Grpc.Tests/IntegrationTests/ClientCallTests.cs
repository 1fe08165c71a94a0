using System.Diagnostics;
using FlashDeal.Grpc.Testing.V1;
using Google.Protobuf;
using Google.Rpc;

namespace FlashDeal.Grpc.Tests.IntegrationTests;

public class ClientCallTests(EchoServerFixture fixture) : IClassFixture<EchoServerFixture>
{
    private GrpcChannel Channel => fixture.Channel;

    private ServerProbe Probe => fixture.Probe;

    [Fact]
    public async Task UnaryCallReturnsTheServersResponse()
    {
        var response = await Channel.UnaryAsync(EchoMethods.Echo, new EchoRequest { Message = "hello", Sequence = 7 });

        Assert.Equal("hello", response.Message);
        Assert.Equal(7, response.Sequence);
        Assert.StartsWith("ipv4:127.0.0.1:", response.Peer);
        Assert.Equal(-1, response.DeadlineMsLeft);
    }

    [Fact]
    public async Task HeadersAndTrailersTravelBothWaysIncludingBinaryValues()
    {
        byte[] data = [0, 1, 2, 0xfe, 0xff];
        var headers = new Metadata { { "echo-text", "hello world" }, { "echo-data-bin", data }, { "other", "not echoed" } };

        using var call = Channel.AsyncUnaryCall(EchoMethods.Echo, new EchoRequest { Message = "m" }, new CallOptions(headers));
        await call;
        var responseHeaders = await call.ResponseHeadersAsync;
        var trailers = call.GetTrailers();

        Assert.Equal("hello world", responseHeaders.GetValue("echo-text"));
        Assert.Equal(data, responseHeaders.GetValueBytes("echo-data-bin"));
        Assert.Null(responseHeaders.GetValue("other"));
        Assert.Equal("hello world", trailers.GetValue("trailer-echo-text"));
        Assert.Equal(data, trailers.GetValueBytes("trailer-echo-data-bin"));
        Assert.Null(trailers.Get(GrpcProtocol.StatusHeader));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task ErrorStatusCarriesCodeMessageAndRichDetails()
    {
        var request = new FailRequest
        {
            Code = (int)StatusCode.FailedPrecondition,
            Message = "deal 42 is sold out – 100% gone",
            Reason = "SOLD_OUT",
            Field = "quantity",
        };

        using var call = Channel.AsyncUnaryCall(EchoMethods.Fail, request);
        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Equal("deal 42 is sold out – 100% gone", e.Status.Detail);
        Assert.Equal("SOLD_OUT", e.GetDetail<ErrorInfo>()?.Reason);
        Assert.Equal("testing.flashdeal.dev", e.GetDetail<ErrorInfo>()?.Domain);
        Assert.Equal("quantity", Assert.Single(e.GetDetail<BadRequest>()!.FieldViolations).Field);
        Assert.Equal(StatusCode.FailedPrecondition, call.GetStatus().StatusCode);
        // A trailers-only reply still has headers: they are the ones that carried the status.
        var responseHeaders = await call.ResponseHeadersAsync;
        Assert.Null(responseHeaders.Get(GrpcProtocol.StatusHeader));
        Assert.Null(responseHeaders.Get(GrpcProtocol.StatusDetailsHeader));
    }

    [Fact]
    public async Task DeadlineIsSentAsGrpcTimeout()
    {
        var response = await Channel.UnaryAsync(EchoMethods.Echo, new EchoRequest { Message = "t" },
            new CallOptions().WithTimeout(TimeSpan.FromSeconds(30)));

        Assert.InRange(response.DeadlineMsLeft, 1_000, 30_000);
    }

    [Fact]
    public async Task DeadlineExceededFailsTheCallBeforeTheHandlerWouldFinishAndCancelsTheHandler()
    {
        var id = ServerProbe.NewId();
        var stopwatch = Stopwatch.StartNew();

        var e = await Assert.ThrowsAsync<RpcException>(() => Channel.UnaryAsync(EchoMethods.Sleep,
            new SleepRequest { DelayMs = 2000 },
            new CallOptions(ServerProbe.Tag(id), Deadline: DateTime.UtcNow.AddMilliseconds(200))));
        stopwatch.Stop();

        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        Assert.True(stopwatch.ElapsedMilliseconds < 2000, $"took {stopwatch.ElapsedMilliseconds} ms");
        Assert.True(await Probe.Observe(id).Ended.Task.WaitAsync(TimeSpan.FromSeconds(10)),
            "the handler's token was not cancelled");
    }

    [Fact]
    public async Task DeadlineInThePastFailsWithoutReachingTheServer()
    {
        var id = ServerProbe.NewId();

        var e = await Assert.ThrowsAsync<RpcException>(() => Channel.UnaryAsync(EchoMethods.Echo, new EchoRequest(),
            new CallOptions(ServerProbe.Tag(id), Deadline: DateTime.UtcNow.AddSeconds(-1))));

        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        Assert.Equal(0, Probe.Observe(id).Attempts);
    }

    [Fact]
    public async Task CancellingTheTokenCancelsTheCallAndTheHandler()
    {
        var id = ServerProbe.NewId();
        using var cts = new CancellationTokenSource();

        var call = Channel.UnaryAsync(EchoMethods.Sleep, new SleepRequest { DelayMs = 10_000 },
            new CallOptions(ServerProbe.Tag(id), CancellationToken: cts.Token));
        await Probe.Observe(id).Started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        cts.Cancel();
        var e = await Assert.ThrowsAsync<RpcException>(() => call);

        Assert.Equal(StatusCode.Cancelled, e.StatusCode);
        Assert.True(await Probe.Observe(id).Ended.Task.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task ServerStreamingYieldsEveryMessageThenOkStatus()
    {
        using var call = Channel.AsyncServerStreamingCall(EchoMethods.Expand, new ExpandRequest { Message = "x", Count = 5 });

        var messages = new List<EchoResponse>();
        await foreach (var message in call.ResponseStream.ReadAllAsync())
        {
            messages.Add(message);
        }

        Assert.Equal(["x-0", "x-1", "x-2", "x-3", "x-4"], messages.Select(m => m.Message));
        Assert.Equal([0, 1, 2, 3, 4], messages.Select(m => m.Sequence));
        Assert.NotNull(await call.ResponseHeadersAsync);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        Assert.False(await call.ResponseStream.MoveNext());
    }

    [Fact]
    public async Task ServerStreamingWithNoMessagesEndsCleanly()
    {
        using var call = Channel.AsyncServerStreamingCall(EchoMethods.Expand, new ExpandRequest { Message = "x", Count = 0 });

        Assert.False(await call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task DisposingAStreamingCallEarlyCancelsTheServerHandler()
    {
        var id = ServerProbe.NewId();
        var call = Channel.AsyncServerStreamingCall(EchoMethods.Expand,
            new ExpandRequest { Message = "x", Count = 1000, IntervalMs = 20 }, new CallOptions(ServerProbe.Tag(id)));

        Assert.True(await call.ResponseStream.MoveNext());
        Assert.True(await call.ResponseStream.MoveNext());
        call.Dispose();

        Assert.True(await Probe.Observe(id).Ended.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(StatusCode.Cancelled, call.GetStatus().StatusCode);
        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.Cancelled, e.StatusCode);
    }

    [Fact]
    public async Task ClientStreamingSendsEveryMessage()
    {
        using var call = Channel.AsyncClientStreamingCall(EchoMethods.Collect);

        foreach (var part in new[] { "a", "b", "c" })
        {
            await call.RequestStream.WriteAsync(new EchoRequest { Message = part });
        }
        await call.RequestStream.CompleteAsync();
        var response = await call;

        Assert.Equal("a,b,c", response.Message);
        Assert.Equal(3, response.Sequence);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task DuplexStreamingAnswersEachMessageAsItArrives()
    {
        using var call = Channel.AsyncDuplexStreamingCall(EchoMethods.Chat);

        for (var i = 0; i < 3; i++)
        {
            await call.RequestStream.WriteAsync(new EchoRequest { Message = $"ping {i}", Sequence = i });
            Assert.True(await call.ResponseStream.MoveNext());
            Assert.Equal($"ping {i}", call.ResponseStream.Current.Message);
            Assert.Equal(i, call.ResponseStream.Current.Sequence);
        }
        await call.RequestStream.CompleteAsync();

        Assert.False(await call.ResponseStream.MoveNext());
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    [Fact]
    public async Task OversizedRequestIsRejectedByTheServer()
    {
        var body = ByteString.CopyFrom(new byte[EchoServerFixture.ServerMaxReceiveMessageSize + 1024]);

        var e = await Assert.ThrowsAsync<RpcException>(() =>
            Channel.UnaryAsync(EchoMethods.Payload, new PayloadRequest { Body = body }));

        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
    }

    [Fact]
    public async Task OversizedResponseIsRejectedByTheClient()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Host.GrpcAddress,
            new GrpcChannelOptions { MaxReceiveMessageSize = 1024 });

        var ok = await channel.UnaryAsync(EchoMethods.Payload, new PayloadRequest { ResponseSize = 1000 });
        var e = await Assert.ThrowsAsync<RpcException>(() =>
            channel.UnaryAsync(EchoMethods.Payload, new PayloadRequest { ResponseSize = 4096 }));

        Assert.Equal(1000, ok.Body.Length);
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
    }

    [Fact]
    public async Task OversizedRequestIsRejectedBeforeSendingWhenOverTheClientLimit()
    {
        var id = ServerProbe.NewId();
        using var channel = GrpcChannel.ForAddress(fixture.Host.GrpcAddress,
            new GrpcChannelOptions { MaxSendMessageSize = 1000 });

        var e = await Assert.ThrowsAsync<RpcException>(() => channel.UnaryAsync(EchoMethods.Payload,
            new PayloadRequest { Body = ByteString.CopyFrom(new byte[2000]) }, new CallOptions(ServerProbe.Tag(id))));

        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Equal(0, Probe.Observe(id).Attempts);
    }

    [Fact]
    public async Task GzipRequestIsCompressedOnTheWireAndDecodedByTheServer()
    {
        var id = ServerProbe.NewId();
        RecordingHandler? recorder = null;
        using var channel = GrpcChannel.ForAddress(fixture.Host.GrpcAddress,
            new GrpcChannelOptions { ConfigureHttpHandler = h => recorder = new RecordingHandler(h) });
        var body = ByteString.CopyFrom(Enumerable.Repeat((byte)'a', 64 * 1024).ToArray());

        var response = await channel.UnaryAsync(EchoMethods.Payload, new PayloadRequest { Body = body },
            new CallOptions(ServerProbe.Tag(id), Compression: "gzip"));

        Assert.Equal(64 * 1024, response.ReceivedSize);
        Assert.Equal("gzip", Probe.Observe(id).RequestEncoding);
        Assert.True(recorder!.RequestContentLengths.Single() < 4 * 1024, "the request body was not compressed");
    }

    [Fact]
    public async Task UnimplementedMethodAnswersUnimplemented()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => Channel.UnaryAsync(EchoMethods.NotImplemented, new EchoRequest()));

        Assert.Equal(StatusCode.Unimplemented, e.StatusCode);
    }

    [Theory]
    [InlineData("flashdeal.testing.v1.NoSuchService", "Echo")]
    [InlineData("flashdeal.testing.v1.EchoService", "NoSuchMethod")]
    public async Task UnknownServiceOrMethodAnswersUnimplemented(string service, string method)
    {
        var unknown = new Method<EchoRequest, EchoResponse>(MethodType.Unary, service, method);

        var e = await Assert.ThrowsAsync<RpcException>(() => Channel.UnaryAsync(unknown, new EchoRequest()));

        Assert.Equal(StatusCode.Unimplemented, e.StatusCode);
    }

    [Fact]
    public async Task ThousandConcurrentUnaryCallsOverOneChannelAllSucceed()
    {
        var calls = Enumerable.Range(0, 1000)
            .Select(i => Channel.UnaryAsync(EchoMethods.Echo, new EchoRequest { Message = $"m{i}", Sequence = i }))
            .ToArray();

        var responses = await Task.WhenAll(calls);

        for (var i = 0; i < responses.Length; i++)
        {
            Assert.Equal($"m{i}", responses[i].Message);
            Assert.Equal(i, responses[i].Sequence);
        }
        Assert.All(Channel.Pool.Subchannels, s => Assert.Equal(0, s.InFlight));
    }

    [Fact]
    public async Task ClientCallsAreTracedAndTheTraceContinuesOnTheServer()
    {
        var activities = new System.Collections.Concurrent.ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is GrpcTelemetry.Name or "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activities.Add,
        };
        ActivitySource.AddActivityListener(listener);
        using var parent = new Activity("test").Start();

        await Channel.UnaryAsync(EchoMethods.Echo, new EchoRequest { Message = "traced" });
        parent.Stop();

        // The server span ends a moment after the client has its response.
        for (var i = 0; i < 250 && !activities.Any(a => a.TraceId == parent.TraceId && a.Kind == ActivityKind.Server
                 && a.Source.Name == GrpcTelemetry.Name); i++)
        {
            await Task.Delay(20);
        }
        var mine = activities.Where(a => a.TraceId == parent.TraceId && a.Source.Name == GrpcTelemetry.Name).ToArray();
        var client = Assert.Single(mine, a => a.Kind == ActivityKind.Client);
        Assert.Equal("flashdeal.testing.v1.EchoService/Echo", client.DisplayName);
        Assert.Equal(0, client.GetTagItem("rpc.grpc.status_code"));
        Assert.Single(mine, a => a.Kind == ActivityKind.Server);
    }
}
