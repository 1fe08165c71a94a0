using Grpc.Core;

namespace FlashDeal.ServiceDefaults.Tests.UnitTests;

public sealed class ErrorResponsesTests
{
    [Theory]
    [InlineData("plain text", "plain text")]
    [InlineData("100% sold", "100%25 sold")]
    [InlineData("café", "caf%C3%A9")]
    [InlineData("line\nbreak", "line%0Abreak")]
    public void GrpcMessageIsPercentEncodedUtf8(string message, string encoded) =>
        Assert.Equal(encoded, ErrorResponses.PercentEncode(message));

    [Theory]
    [InlineData(StatusCode.InvalidArgument, 400)]
    [InlineData(StatusCode.FailedPrecondition, 400)]
    [InlineData(StatusCode.Unauthenticated, 401)]
    [InlineData(StatusCode.PermissionDenied, 403)]
    [InlineData(StatusCode.NotFound, 404)]
    [InlineData(StatusCode.AlreadyExists, 409)]
    [InlineData(StatusCode.Aborted, 409)]
    [InlineData(StatusCode.ResourceExhausted, 429)]
    [InlineData(StatusCode.Unavailable, 503)]
    [InlineData(StatusCode.DeadlineExceeded, 504)]
    [InlineData(StatusCode.Internal, 500)]
    public void RestStatusFollowsTheDocumentedMapping(StatusCode code, int http) =>
        Assert.Equal(http, ErrorResponses.HttpStatus(code));

    [Theory]
    [InlineData(0.2, 1)]
    [InlineData(1.0, 1)]
    [InlineData(1.5, 2)]
    [InlineData(30, 30)]
    public void RetryAfterIsWholeSecondsAndAtLeastOne(double seconds, long header) =>
        Assert.Equal(header, ErrorResponses.RetryAfterSeconds(TimeSpan.FromSeconds(seconds)));
}
