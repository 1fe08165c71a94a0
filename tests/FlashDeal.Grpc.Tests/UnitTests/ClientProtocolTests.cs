using System.Net;
using FlashDeal.Grpc.Client;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;

namespace FlashDeal.Grpc.Tests.UnitTests;

public class ClientProtocolTests
{
    [Theory]
    [InlineData(400, StatusCode.Internal)]
    [InlineData(401, StatusCode.Unauthenticated)]
    [InlineData(403, StatusCode.PermissionDenied)]
    [InlineData(404, StatusCode.Unimplemented)]
    [InlineData(429, StatusCode.Unavailable)]
    [InlineData(502, StatusCode.Unavailable)]
    [InlineData(503, StatusCode.Unavailable)]
    [InlineData(504, StatusCode.Unavailable)]
    [InlineData(500, StatusCode.Unknown)]
    [InlineData(415, StatusCode.Unknown)]
    public void NonOkHttpStatusMapsToTheGrpcCodeOfTheSpec(int http, StatusCode expected)
    {
        using var response = GrpcReply((HttpStatusCode)http);
        response.Headers.TryAddWithoutValidation(GrpcProtocol.StatusHeader, "0");

        var status = GrpcResponse.FromResponseHeaders(response);

        Assert.Equal(expected, status?.StatusCode);
        Assert.Contains(http.ToString(), status?.Detail);
    }

    [Fact]
    public void TrailersOnlyReplyCarriesCodeDecodedMessageAndDetails()
    {
        var rich = new Google.Rpc.Status
        {
            Code = (int)StatusCode.InvalidArgument,
            Message = "bad",
            Details = { Any.Pack(new BadRequest { FieldViolations = { new BadRequest.Types.FieldViolation { Field = "qty" } } }) },
        };
        using var response = GrpcReply();
        response.Headers.TryAddWithoutValidation(GrpcProtocol.StatusHeader, "3");
        response.Headers.TryAddWithoutValidation(GrpcProtocol.MessageHeader, "caf%C3%A9 100%25");
        response.Headers.TryAddWithoutValidation(GrpcProtocol.StatusDetailsHeader,
            Convert.ToBase64String(rich.ToByteArray()).TrimEnd('='));

        var status = GrpcResponse.FromResponseHeaders(response);

        Assert.Equal(StatusCode.InvalidArgument, status?.StatusCode);
        Assert.Equal("caf\u00e9 100%", status?.Detail);
        Assert.Equal("qty", status?.RichStatus?.Details[0].Unpack<BadRequest>().FieldViolations[0].Field);
    }

    [Fact]
    public void NormalReplyLeavesTheStatusToTheTrailers() => Assert.Null(GrpcResponse.FromResponseHeaders(GrpcReply()));

    [Fact]
    public void OkReplyThatIsNotGrpcIsInternal()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("<html/>") };

        Assert.Equal(StatusCode.Internal, GrpcResponse.FromResponseHeaders(response)?.StatusCode);
    }

    [Fact]
    public void UnparsableStatusIsUnknownAndMalformedDetailsAreIgnored()
    {
        using var response = GrpcReply();
        response.TrailingHeaders.TryAddWithoutValidation(GrpcProtocol.StatusHeader, "abc");
        using var other = GrpcReply();
        other.TrailingHeaders.TryAddWithoutValidation(GrpcProtocol.StatusHeader, "5");
        other.TrailingHeaders.TryAddWithoutValidation(GrpcProtocol.StatusDetailsHeader, "!!!");

        Assert.Equal(StatusCode.Unknown, GrpcResponse.ReadStatus(response.TrailingHeaders)?.StatusCode);
        Assert.Equal(new Status(StatusCode.NotFound), GrpcResponse.ReadStatus(other.TrailingHeaders));
        Assert.Null(GrpcResponse.ReadStatus(GrpcReply().TrailingHeaders));
    }

    [Fact]
    public void MetadataLeavesOutProtocolHeadersAndDecodesBinaryValues()
    {
        using var response = GrpcReply();
        response.Headers.TryAddWithoutValidation(GrpcProtocol.StatusHeader, "0");
        response.Headers.TryAddWithoutValidation(GrpcProtocol.EncodingHeader, "gzip");
        response.Headers.TryAddWithoutValidation("x-request-id", "r1");
        response.Headers.TryAddWithoutValidation("trace-bin", "AAEC, /w");

        var metadata = GrpcResponse.ReadMetadata(response.Headers);

        Assert.Equal(["x-request-id", "trace-bin", "trace-bin"], metadata.Select(e => e.Key));
        Assert.Equal("r1", metadata.GetValue("x-request-id"));
        Assert.Equal([new byte[] { 0, 1, 2 }, [0xff]], metadata.GetAll("trace-bin").Select(e => e.ValueBytes));
    }

    [Theory]
    [InlineData("250", 250)]
    [InlineData("-1", -1)]
    [InlineData("soon", -1)]
    public void RetryPushbackIsADelayOrAStop(string value, int expectedMs)
    {
        var trailers = new Metadata { { GrpcResponse.RetryPushbackHeader, value } };

        var pushback = GrpcResponse.ReadRetryPushback(trailers);

        Assert.Equal(expectedMs < 0 ? TimeSpan.MinValue : TimeSpan.FromMilliseconds(expectedMs), pushback);
        Assert.Null(GrpcResponse.ReadRetryPushback(new Metadata()));
    }

    [Theory]
    [InlineData(0x0, StatusCode.Unavailable)]
    [InlineData(0x2, StatusCode.Internal)]
    [InlineData(0x7, StatusCode.Unavailable)]
    [InlineData(0x8, StatusCode.Cancelled)]
    [InlineData(0xb, StatusCode.ResourceExhausted)]
    [InlineData(0xc, StatusCode.PermissionDenied)]
    public void Http2ErrorCodesMapPerTheSpec(long errorCode, StatusCode expected)
    {
        var e = new HttpRequestException("reset", new HttpProtocolException(errorCode, "reset", null));

        Assert.Equal(expected, GrpcResponse.FromTransportException(e).StatusCode);
        Assert.False(GrpcResponse.IsConnectFailure(e));
    }

    [Fact]
    public void ConnectFailureIsUnavailableAndSafeToSendElsewhere()
    {
        var e = new HttpRequestException(HttpRequestError.ConnectionError, "Connection refused");

        Assert.True(GrpcResponse.IsConnectFailure(e));
        Assert.Equal(StatusCode.Unavailable, GrpcResponse.FromTransportException(e).StatusCode);
        Assert.Equal(StatusCode.Unavailable, GrpcResponse.FromTransportException(new IOException("reset")).StatusCode);
    }

    private static HttpResponseMessage GrpcReply(HttpStatusCode code = HttpStatusCode.OK)
    {
        var response = new HttpResponseMessage(code) { Content = new ByteArrayContent([]) };
        response.Content.Headers.TryAddWithoutValidation("Content-Type", GrpcProtocol.ContentType);
        return response;
    }
}
