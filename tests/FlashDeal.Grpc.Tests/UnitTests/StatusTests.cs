using Google.Rpc;

namespace FlashDeal.Grpc.Tests.UnitTests;

public class StatusTests
{
    [Theory]
    [InlineData("plain ascii", "plain ascii")]
    [InlineData("100% sure", "100%25 sure")]
    [InlineData("caf\u00e9", "caf%C3%A9")]
    [InlineData("line\nbreak", "line%0Abreak")]
    public void MessageIsPercentEncodedAsTheSpecAsks(string message, string encoded)
    {
        Assert.Equal(encoded, Status.EncodeMessage(message));
        Assert.Equal(message, Status.DecodeMessage(encoded));
    }

    [Fact]
    public void MalformedPercentEscapesAreKeptLiterally() => Assert.Equal("50%zz", Status.DecodeMessage("50%zz"));

    [Fact]
    public void InvalidArgumentNamesEachField()
    {
        var e = RpcException.InvalidArgument(("quantity", "must be positive"), ("deal_id", "is required"));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        var badRequest = e.GetDetail<BadRequest>();
        Assert.NotNull(badRequest);
        Assert.Equal(["quantity", "deal_id"], badRequest.FieldViolations.Select(v => v.Field));
        Assert.Contains("quantity", e.Status.Detail);
    }

    [Fact]
    public void ReasonTravelsInErrorInfo()
    {
        var e = RpcException.WithReason(StatusCode.FailedPrecondition, "SOLD_OUT", "orders.flashdeal.dev", "sold out",
            new Dictionary<string, string> { ["deal_id"] = "d1" });
        var info = e.GetDetail<ErrorInfo>();
        Assert.Equal("SOLD_OUT", info?.Reason);
        Assert.Equal("d1", info?.Metadata["deal_id"]);
        Assert.Null(e.GetDetail<QuotaFailure>());
    }

    [Fact]
    public void MetadataRejectsBadKeysAndMismatchedValueKinds()
    {
        var metadata = new Metadata();
        Assert.Throws<ArgumentException>(() => metadata.Add("bad key", "v"));
        Assert.Throws<ArgumentException>(() => metadata.Add("data-bin", "text"));
        Assert.Throws<ArgumentException>(() => metadata.Add("text", [1, 2]));
        metadata.Add("Mixed-Case", "v");
        Assert.Equal("v", metadata.GetValue("mixed-case"));
    }

    [Fact]
    public void HeadersThatCannotBeMetadataArePassedOverNotFatal()
    {
        var headers = new Microsoft.AspNetCore.Http.HeaderDictionary
        {
            ["x-ok"] = "1",
            ["x-weird!"] = "2",
            ["content-type"] = "application/grpc",
            ["trace-bin"] = Convert.ToBase64String([1, 2, 3]).TrimEnd('='),
        };
        var metadata = HttpServerCallContext.ReadMetadata(headers);
        Assert.Equal(["x-ok", "trace-bin"], metadata.Select(e => e.Key));
        Assert.Equal(new byte[] { 1, 2, 3 }, metadata.GetValueBytes("trace-bin"));
    }

    [Fact]
    public void FieldViolationsReportEveryProblemAtOnce()
    {
        var violations = new FieldViolations()
            .Required("", "email")
            .MaxLength("abcdef", 3, "display_name")
            .Check(5 > 0, "stock", "must be positive");
        var e = Assert.Throws<RpcException>(violations.ThrowIfAny);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal(["email", "display_name"], e.GetDetail<BadRequest>()!.FieldViolations.Select(v => v.Field));
    }

    [Fact]
    public void NoFieldViolationsMeansNoError() => new FieldViolations().Required("x", "email").ThrowIfAny();
}
