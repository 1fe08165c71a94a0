using System.Buffers;
using FlashDeal.Grpc.Testing.V1;
using Google.Protobuf;

namespace FlashDeal.Grpc.Tests.UnitTests;

public class GrpcProtocolTests
{
    [Theory]
    [InlineData("100m", 100 * TimeSpan.TicksPerMillisecond)]
    [InlineData("5S", 5 * TimeSpan.TicksPerSecond)]
    [InlineData("2M", 2 * TimeSpan.TicksPerMinute)]
    [InlineData("1H", TimeSpan.TicksPerHour)]
    [InlineData("1500u", 15_000)]
    [InlineData("99999999n", 999_999)]
    public void TimeoutParsesEveryUnit(string value, long expectedTicks)
    {
        Assert.True(GrpcProtocol.TryParseTimeout(value, out var timeout));
        Assert.Equal(expectedTicks, timeout.Ticks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("m")]
    [InlineData("10")]
    [InlineData("10x")]
    [InlineData("-5S")]
    [InlineData("123456789S")]
    public void TimeoutRejectsMalformedValues(string value) => Assert.False(GrpcProtocol.TryParseTimeout(value, out _));

    [Fact]
    public void TimeoutFormatRoundTripsAndStaysWithinEightDigits()
    {
        foreach (var span in new[] { TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(3), TimeSpan.FromDays(5000) })
        {
            var text = GrpcProtocol.FormatTimeout(span);
            Assert.True(text.Length <= 9, text);
            Assert.True(GrpcProtocol.TryParseTimeout(text, out var parsed));
            Assert.True(parsed >= span, $"{text} parsed to {parsed}, shorter than {span}");
        }
    }

    [Fact]
    public void FrameRoundTripsAMessage()
    {
        var writer = new ArrayBufferWriter<byte>();
        var message = new EchoRequest { Message = "hello", Sequence = 7 };
        GrpcProtocol.WriteFrame(writer, message, int.MaxValue, compression: null);

        Assert.Equal(0, writer.WrittenSpan[0]);
        Assert.Equal(message.CalculateSize(), writer.WrittenSpan[4]);
        var buffer = new ReadOnlySequence<byte>(writer.WrittenMemory);
        Assert.True(GrpcProtocol.TryReadFrame(ref buffer, 1024, out var compressed, out var payload));
        Assert.False(compressed);
        Assert.True(buffer.IsEmpty);
        Assert.Equal(message, EchoRequest.Parser.ParseFrom(payload));
    }

    [Fact]
    public void FrameSplitAcrossSegmentsWaitsForTheWholeMessage()
    {
        var writer = new ArrayBufferWriter<byte>();
        GrpcProtocol.WriteFrame(writer, new EchoRequest { Message = new string('x', 100) }, int.MaxValue, null);
        var partial = new ReadOnlySequence<byte>(writer.WrittenMemory[..50]);
        Assert.False(GrpcProtocol.TryReadFrame(ref partial, 1024, out _, out _));
        Assert.Equal(50, partial.Length);
    }

    [Fact]
    public void OversizedFrameFailsWithResourceExhaustedFromTheHeaderAlone()
    {
        var header = new byte[GrpcProtocol.HeaderSize];
        GrpcProtocol.WriteHeader(header, compressed: false, 10_000);
        var buffer = new ReadOnlySequence<byte>(header);
        var e = Assert.Throws<RpcException>(() => GrpcProtocol.TryReadFrame(ref buffer, 1000, out _, out _));
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
    }

    [Fact]
    public void OversizedOutgoingMessageFailsWithResourceExhausted()
    {
        var e = Assert.Throws<RpcException>(() =>
            GrpcProtocol.WriteFrame(new ArrayBufferWriter<byte>(), new EchoRequest { Message = new string('x', 100) }, 10, null));
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
    }

    [Fact]
    public void InvalidCompressedFlagIsAnInternalError()
    {
        var frame = new byte[] { 7, 0, 0, 0, 0 };
        var buffer = new ReadOnlySequence<byte>(frame);
        var e = Assert.Throws<RpcException>(() => GrpcProtocol.TryReadFrame(ref buffer, 1000, out _, out _));
        Assert.Equal(StatusCode.Internal, e.StatusCode);
    }

    [Fact]
    public void GzipFrameRoundTrips()
    {
        var gzip = new GzipCompressionProvider();
        var writer = new ArrayBufferWriter<byte>();
        var message = new EchoRequest { Message = new string('z', 10_000) };
        GrpcProtocol.WriteFrame(writer, message, int.MaxValue, gzip);
        Assert.Equal(1, writer.WrittenSpan[0]);
        Assert.True(writer.WrittenCount < 1000, "a repetitive message should shrink");

        var buffer = new ReadOnlySequence<byte>(writer.WrittenMemory);
        Assert.True(GrpcProtocol.TryReadFrame(ref buffer, int.MaxValue, out var compressed, out var payload));
        Assert.Equal(message, GrpcProtocol.ParsePayload(EchoRequest.Parser, payload, compressed, gzip, int.MaxValue));
    }

    [Fact]
    public void GzipBombIsStoppedAtTheReceiveLimit()
    {
        var gzip = new GzipCompressionProvider();
        var packed = gzip.Compress(new byte[1_000_000]);
        var e = Assert.Throws<RpcException>(() => gzip.Decompress(new ReadOnlySequence<byte>(packed), 1000));
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
    }

    [Theory]
    [InlineData("application/grpc", true)]
    [InlineData("application/grpc+proto", true)]
    [InlineData("application/grpc; charset=utf-8", true)]
    [InlineData("application/grpc-web", false)]
    [InlineData("application/json", false)]
    [InlineData(null, false)]
    public void ContentTypeRecognition(string? contentType, bool expected) =>
        Assert.Equal(expected, GrpcProtocol.IsGrpcContentType(contentType));
}
