using System.Net;
using System.Text;
using System.Text.Json;
using FlashDeal.Grpc.Testing;

namespace FlashDeal.Grpc.Tests.IntegrationTests;

/// <summary>Failures of transcoded calls: HTTP status mapping, google.rpc.Status bodies, bad input, 404/405/413/415.</summary>
public class TranscodingErrorTests(TranscodingServerFixture server) : IClassFixture<TranscodingServerFixture>
{
    private static JsonElement SingleViolation(JsonElement status)
    {
        var detail = status.GetProperty("details").EnumerateArray()
            .Single(d => d.GetProperty("@type").GetString() == "type.googleapis.com/google.rpc.BadRequest");
        return Assert.Single(detail.GetProperty("fieldViolations").EnumerateArray());
    }

    [Fact]
    public async Task InvalidArgumentWithAFieldIs400WithABadRequestDetail()
    {
        var (response, json) = await server.SendAsync("POST", "/v1/echo:fail",
            """{"code":3,"message":"must be positive","field":"quantity","reason":"BAD_QUANTITY"}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(3, json.GetProperty("code").GetInt32());
        Assert.Equal("must be positive", json.GetProperty("message").GetString());
        var violation = SingleViolation(json);
        Assert.Equal("quantity", violation.GetProperty("field").GetString());
        var info = json.GetProperty("details").EnumerateArray()
            .Single(d => d.GetProperty("@type").GetString() == "type.googleapis.com/google.rpc.ErrorInfo");
        Assert.Equal("BAD_QUANTITY", info.GetProperty("reason").GetString());
    }

    [Theory]
    [InlineData(1, 499)]
    [InlineData(2, 500)]
    [InlineData(4, 504)]
    [InlineData(5, 404)]
    [InlineData(6, 409)]
    [InlineData(7, 403)]
    [InlineData(8, 429)]
    [InlineData(9, 400)]
    [InlineData(10, 409)]
    [InlineData(11, 400)]
    [InlineData(12, 501)]
    [InlineData(13, 500)]
    [InlineData(14, 503)]
    [InlineData(15, 500)]
    [InlineData(16, 401)]
    public async Task StatusCodeMapsToItsHttpStatusWithTheCodeInTheBody(int code, int http)
    {
        var (response, json) = await server.SendAsync("POST", "/v1/echo:fail", $$"""{"code":{{code}},"message":"boom"}""");

        Assert.Equal(http, (int)response.StatusCode);
        Assert.Equal(code, json.GetProperty("code").GetInt32());
        Assert.Equal("boom", json.GetProperty("message").GetString());
    }

    [Fact]
    public async Task ResourceExhaustedWithRetryInfoCarriesRetryAfter()
    {
        var (response, json) = await server.SendAsync("GET", "/v1/inspect?fail_code=8&retry_after_seconds=3");

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(3), response.Headers.RetryAfter?.Delta);
        var detail = Assert.Single(json.GetProperty("details").EnumerateArray());
        Assert.Equal("3s", detail.GetProperty("retryDelay").GetString());
    }

    [Fact]
    public async Task HandlerCanOverrideTheHttpStatusOfAFailure()
    {
        var (response, json) = await server.SendAsync("LEND", "/v1/shelves/1/books/b-lent", """{"borrower":"bo"}""");

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Equal((int)StatusCode.FailedPrecondition, json.GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task MalformedJsonIs400NamingTheProblem()
    {
        var (response, json) = await server.SendAsync("POST", "/v1/echo", """{"message":"hi",""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(3, json.GetProperty("code").GetInt32());
        Assert.Contains("Malformed JSON", json.GetProperty("message").GetString());
        Assert.Contains("BytePositionInLine", json.GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("""{"message":"hi","sequence":"abc"}""", "sequence")]
    [InlineData("""{"message":"hi","bogus":1}""", "bogus")]
    [InlineData("""{"message":7}""", "message")]
    public async Task WrongOrUnknownJsonFieldIs400NamingTheField(string body, string field)
    {
        var (response, json) = await server.SendAsync("POST", "/v1/echo", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, SingleViolation(json).GetProperty("field").GetString());
        Assert.StartsWith(field + ":", json.GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("""{"shelvedBy":{"author":5}}""", "book.shelvedBy.author")]
    [InlineData("""{"shelvedBy":{"genre":"GENRE_POETRY"}}""", "book.shelvedBy.genre")]
    [InlineData("""{"publishedAt":"yesterday"}""", "book.publishedAt")]
    public async Task NestedJsonProblemNamesTheFullFieldPath(string body, string field)
    {
        var (response, json) = await server.SendAsync("POST", "/v1/shelves/4/books", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, SingleViolation(json).GetProperty("field").GetString());
    }

    [Fact]
    public async Task JsonThatIsNotAnObjectIs400()
    {
        var (response, json) = await server.SendAsync("POST", "/v1/echo", "[1,2]");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Expected a JSON object", json.GetProperty("message").GetString());
    }

    [Fact]
    public async Task NonIntegerPathValueIs400NamingTheField()
    {
        var (response, json) = await server.SendAsync("GET", "/v1/shelves/abc");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var violation = SingleViolation(json);
        Assert.Equal("shelf_id", violation.GetProperty("field").GetString());
        Assert.Contains("int32", violation.GetProperty("description").GetString());
    }

    [Fact]
    public async Task BadEnumInQueryIs400ListingTheValues()
    {
        var (response, json) = await server.SendAsync("GET", "/v1/shelves/1/books?genre=POETRY");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("genre", SingleViolation(json).GetProperty("field").GetString());
        Assert.Contains("GENRE_FICTION", json.GetProperty("message").GetString());
    }

    [Fact]
    public async Task UnknownQueryParameterIs400NamingIt()
    {
        var (response, json) = await server.SendAsync("GET", "/v1/shelves/1/books?pagesize=3");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("pagesize", SingleViolation(json).GetProperty("field").GetString());
    }

    [Fact]
    public async Task NonJsonContentTypeIs415()
    {
        using var content = new StringContent("""{"message":"x"}""", Encoding.UTF8, "text/plain");
        using var response = await server.Rest.PostAsync("/v1/echo", content);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains("application/json", json.RootElement.GetProperty("message").GetString());
    }

    [Fact]
    public async Task BadGrpcTimeoutHeaderIs400()
    {
        var (response, _) = await server.SendAsync("GET", "/v1/inspect", null, ("grpc-timeout", "soon"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task ExpiredDeadlineIs504()
    {
        var (response, json) = await server.SendAsync("POST", "/v1/echo:sleep", """{"delayMs":10000}""", ("grpc-timeout", "50m"));

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal((int)StatusCode.DeadlineExceeded, json.GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task UnknownRouteIs404Json()
    {
        var (response, json) = await server.SendAsync("GET", "/v1/nothing/here");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal((int)StatusCode.NotFound, json.GetProperty("code").GetInt32());
        Assert.Contains("/v1/nothing/here", json.GetProperty("message").GetString());
    }

    [Fact]
    public async Task WrongMethodIs405ListingTheAllowedOnes()
    {
        var (response, json) = await server.SendAsync("DELETE", "/v1/echo");

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal(["POST"], response.Content.Headers.Allow);
        Assert.Contains("POST", json.GetProperty("message").GetString());
    }

    [Fact]
    public async Task WrongMethodOnAMultiMethodPathListsEveryMethod()
    {
        var (response, _) = await server.SendAsync("POST", "/v1/shelves/1/books/2");

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal(["DELETE", "GET", "LEND", "PUT"], response.Content.Headers.Allow.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task BodyOverTheLimitIs413ResourceExhausted()
    {
        await using var host = await EchoServerHost.StartAsync(o => o.MaxReceiveMessageSize = 16 * 1024);
        using var client = new HttpClient { BaseAddress = host.RestAddress };
        var big = Convert.ToBase64String(new byte[32 * 1024]);

        var (response, json) = await TranscodingServerFixture.SendAsync(client, "POST", "/v1/payload", $$"""{"body":"{{big}}"}""");
        var (small, _) = await TranscodingServerFixture.SendAsync(client, "POST", "/v1/payload", """{"body":"AAAA"}""");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal((int)StatusCode.ResourceExhausted, json.GetProperty("code").GetInt32());
        Assert.Equal(HttpStatusCode.OK, small.StatusCode);
    }

    [Fact]
    public async Task ChunkedBodyOverTheLimitIs413()
    {
        await using var host = await EchoServerHost.StartAsync(o => o.MaxReceiveMessageSize = 16 * 1024);
        using var client = new HttpClient { BaseAddress = host.RestAddress };
        var big = Encoding.UTF8.GetBytes($$"""{"body":"{{Convert.ToBase64String(new byte[32 * 1024])}}"}""");
        using var content = new StreamContent(new NonSeekableStream(big));
        content.Headers.ContentType = new("application/json");

        using var response = await client.PostAsync("/v1/payload", content);

        Assert.Null(response.RequestMessage?.Content?.Headers.ContentLength);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    /// <summary>Hides the length so HttpClient sends the body chunked.</summary>
    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
