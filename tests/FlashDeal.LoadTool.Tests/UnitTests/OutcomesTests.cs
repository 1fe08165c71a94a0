using System.Net;
using FlashDeal.LoadTool.Api;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Status = Grpc.Core.Status;

namespace FlashDeal.LoadTool.Tests.UnitTests;

public sealed class OutcomesTests
{
    [Fact]
    public void GrpcErrorInfoReasonNamesTheOutcome()
    {
        // As the client sees it: a google.rpc.Status carrying ErrorInfo among other details in grpc-status-details-bin.
        var rich = new Google.Rpc.Status { Code = (int)StatusCode.FailedPrecondition, Message = "sold out" };
        rich.Details.Add(Any.Pack(new BadRequest()));
        rich.Details.Add(Any.Pack(new ErrorInfo { Reason = "SOLD_OUT", Domain = "orders.flashdeal.dev" }));

        Assert.Equal("SOLD_OUT", Outcomes.FromGrpc(rich.ToRpcException()));
    }

    [Fact]
    public void GrpcDetailsThatAreNoStatusLeaveTheStatusName()
    {
        var trailers = new Metadata { { "grpc-status-details-bin", new byte[] { 0xff, 0xff, 0xff } } };

        Assert.Equal("UNAVAILABLE", Outcomes.FromGrpc(new RpcException(new Status(StatusCode.Unavailable, "down"), trailers)));
    }

    [Theory]
    [InlineData(StatusCode.Unavailable, "UNAVAILABLE")]
    [InlineData(StatusCode.DeadlineExceeded, "DEADLINE_EXCEEDED")]
    [InlineData(StatusCode.ResourceExhausted, "RESOURCE_EXHAUSTED")]
    [InlineData(StatusCode.OK, "OK")]
    public void GrpcWithoutErrorInfoIsTheStatusName(StatusCode code, string expected) =>
        Assert.Equal(expected, Outcomes.FromGrpc(new RpcException(new Status(code, ""))));

    [Fact]
    public void RestErrorInfoReasonNamesTheOutcome()
    {
        const string body = """
            {"code":9,"message":"deal is sold out","details":[
              {"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[]},
              {"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"PER_USER_LIMIT_REACHED","domain":"orders"}]}
            """;

        Assert.Equal("PER_USER_LIMIT_REACHED", Outcomes.FromRest(HttpStatusCode.Conflict, body));
    }

    [Fact]
    public void RestStatusWithoutErrorInfoIsTheStatusName() =>
        Assert.Equal("UNAVAILABLE", Outcomes.FromRest(HttpStatusCode.ServiceUnavailable, """{"code":14,"message":"down"}"""));

    [Theory]
    [InlineData(HttpStatusCode.BadGateway, "<html>bad gateway</html>", "HTTP_502")]
    [InlineData(HttpStatusCode.TooManyRequests, "", "HTTP_429")]
    [InlineData(HttpStatusCode.NotFound, "[1,2]", "HTTP_404")]
    public void RestWithoutAStatusBodyIsTheHttpCode(HttpStatusCode status, string body, string expected) =>
        Assert.Equal(expected, Outcomes.FromRest(status, body));

    [Theory]
    [InlineData("UNAVAILABLE", true)]
    [InlineData("DEADLINE_EXCEEDED", true)]
    [InlineData("HTTP_503", true)]
    [InlineData("SOLD_OUT", false)]
    [InlineData("RATE_LIMITED", false)]
    public void OnlyTransientOutcomesAreResent(string outcome, bool transient) =>
        Assert.Equal(transient, Outcomes.IsTransient(outcome));
}
