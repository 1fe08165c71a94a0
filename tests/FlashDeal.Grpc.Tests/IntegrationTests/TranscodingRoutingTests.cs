using System.Net;
using System.Text.Json;
using FlashDeal.Grpc.Testing.V1;

namespace FlashDeal.Grpc.Tests.IntegrationTests;

/// <summary>Every google.api.http rule shape over real HTTP/1.1 against the Echo and Bookstore services.</summary>
public class TranscodingRoutingTests(TranscodingServerFixture server) : IClassFixture<TranscodingServerFixture>
{
    [Fact]
    public async Task PostWithBodyStarBindsTheWholeRequest()
    {
        var (response, json) = await server.SendAsync("POST", "/v1/echo", """{"message":"hello","sequence":7}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("hello", json.GetProperty("message").GetString());
        Assert.Equal(7, json.GetProperty("sequence").GetInt32());
    }

    [Fact]
    public async Task OriginalProtoFieldNamesAreAcceptedAndJsonNamesAreWritten()
    {
        var (response, json) = await server.SendAsync("POST", "/v1/shelves/4/books",
            """{"name":"b1","page_count":"300","published_at":"2020-01-01T00:00:00Z","shelvedBy":{"author":"me"}}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("300", json.GetProperty("pageCount").GetString());
        Assert.Equal("2020-01-01T00:00:00Z", json.GetProperty("publishedAt").GetString());
        Assert.Equal("me", json.GetProperty("shelvedBy").GetProperty("author").GetString());
        Assert.False(json.TryGetProperty("page_count", out _));
    }

    [Fact]
    public async Task AdditionalBindingGetBindsAndUrlDecodesThePathVariable()
    {
        var (response, json) = await server.SendAsync("GET", "/v1/echo/hello%20w%C3%B6rld%2Fx");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("hello w\u00f6rld/x", json.GetProperty("message").GetString());
    }

    [Fact]
    public async Task NestedPathFieldsOfAnAdditionalBindingAreBound()
    {
        var (_, json) = await server.SendAsync("GET", "/v1/books/3/abc");

        Assert.Equal("shelves/3/books/abc", json.GetProperty("name").GetString());
    }

    [Fact]
    public async Task MultiSegmentCaptureBindsTheMatchedText()
    {
        var (response, json) = await server.SendAsync("GET", "/v1/shelves/1/books/b%202");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("shelves/1/books/b 2", json.GetProperty("name").GetString());
    }

    [Fact]
    public async Task DoubleWildcardCapturesTheRestOfThePathKeepingEncodedSlashes()
    {
        var (_, json) = await server.SendAsync("GET", "/v1/documents/a/b%2Fc/d%20e.txt");

        Assert.Equal("a/b%2Fc/d e.txt", json.GetProperty("path").GetString());
    }

    [Fact]
    public async Task CustomVerbRoutesApartFromThePlainPath()
    {
        var (plain, shelf) = await server.SendAsync("GET", "/v1/shelves/7");
        var (watch, _) = await server.SendAsync("GET", "/v1/shelves/7:watch?count=1");

        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        Assert.Equal(7, shelf.GetProperty("shelfId").GetInt32());
        Assert.Equal("application/x-ndjson", watch.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task CustomVerbOnAMultiSegmentCaptureBindsBodyAndPath()
    {
        var (_, json) = await server.SendAsync("POST", "/v1/shelves/1/books/b2:move", """{"targetShelfId":9}""");

        Assert.Equal("shelves/9/books/b2", json.GetProperty("name").GetString());
    }

    [Fact]
    public async Task BodyFieldBindsOnlyThatFieldBesideThePathVariable()
    {
        var (_, json) = await server.SendAsync("POST", "/v1/shelves/4/books",
            """{"name":"b1","title":"T","genre":"GENRE_HISTORY","tags":["x","y"],"cover":"AQID"}""");

        Assert.Equal("shelves/4/books/b1", json.GetProperty("name").GetString());
        Assert.Equal("GENRE_HISTORY", json.GetProperty("genre").GetString());
        Assert.Equal(["x", "y"], json.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal("AQID", json.GetProperty("cover").GetString());
    }

    [Fact]
    public async Task BodyFieldAndQueryParameterAreBoundTogether()
    {
        var (response, json) = await server.SendAsync("POST", "/v1/shelves?request_id=r-1", """{"shelfId":3,"theme":"sci-fi"}""");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("r-1", json.GetProperty("requestId").GetString());
        Assert.Equal("sci-fi", json.GetProperty("theme").GetString());
    }

    [Fact]
    public async Task PathValueOverridesTheBodyOfABodyStarRule()
    {
        var (_, json) = await server.SendAsync("PUT", "/v1/shelves/1/books/2", """{"name":"other","title":"T"}""");

        Assert.Equal("shelves/1/books/2", json.GetProperty("name").GetString());
        Assert.Equal("T", json.GetProperty("title").GetString());
    }

    [Fact]
    public async Task NestedPathFieldMergesIntoTheBodyFieldAndFieldMaskComesFromTheQuery()
    {
        var (_, json) = await server.SendAsync("PATCH", "/v1/shelves/9?update_mask=theme,createdAt",
            """{"shelfId":3,"theme":"history"}""");

        Assert.Equal(9, json.GetProperty("shelfId").GetInt32());
        Assert.Equal("history", json.GetProperty("theme").GetString());
        Assert.Equal(["theme", "created_at"], json.GetProperty("updatedPaths").EnumerateArray().Select(p => p.GetString()));
    }

    [Fact]
    public async Task ResponseBodyWritesOnlyThatField()
    {
        var (response, json) = await server.SendAsync("GET", "/v1/shelves/5/theme?view=dark");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(JsonValueKind.String, json.ValueKind);
        Assert.Equal("theme-5-dark", json.GetString());
    }

    [Fact]
    public async Task DeleteReturnsAnEmptyObjectAndTrailersAsHeaders()
    {
        var (response, json) = await server.SendAsync("DELETE", "/v1/shelves/1/books/2");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(JsonValueKind.Object, json.ValueKind);
        Assert.Empty(json.EnumerateObject());
        Assert.Equal("shelves/1/books/2", response.Headers.GetValues("deleted-name").Single());
    }

    [Fact]
    public async Task CustomHttpMethodIsRouted()
    {
        var (response, json) = await server.SendAsync("LEND", "/v1/shelves/1/books/2", """{"borrower":"ann"}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("lent to ann", json.GetProperty("title").GetString());
    }

    [Fact]
    public async Task QueryParametersOfEveryKindAreBound()
    {
        var query = "page_size=5&tags=a&tags=b&filter.author=x%20y&filter.genre=2&genre=GENRE_SCIENCE&includeArchived=true" +
                    "&min_pages=12345678901&cursor=AAEC&min_rating=4.5&publishedBefore=2024-01-01T00:00:00Z&max_age=3.5s" +
                    "&limit=7&language=en&read_mask=title,pageCount&genres=1&genres=GENRE_HISTORY&ids=5";
        var (response, json) = await server.SendAsync("GET", "/v1/shelves/7/books?" + query);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var q = json.GetProperty("query");
        Assert.Equal(7, q.GetProperty("shelfId").GetInt32());
        Assert.Equal(5, q.GetProperty("pageSize").GetInt32());
        Assert.Equal(["a", "b"], q.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
        Assert.Equal("x y", q.GetProperty("filter").GetProperty("author").GetString());
        Assert.Equal("GENRE_SCIENCE", q.GetProperty("filter").GetProperty("genre").GetString());
        Assert.Equal("GENRE_SCIENCE", q.GetProperty("genre").GetString());
        Assert.True(q.GetProperty("includeArchived").GetBoolean());
        Assert.Equal("12345678901", q.GetProperty("minPages").GetString());
        Assert.Equal("AAEC", q.GetProperty("cursor").GetString());
        Assert.Equal(4.5, q.GetProperty("minRating").GetDouble());
        Assert.Equal("2024-01-01T00:00:00Z", q.GetProperty("publishedBefore").GetString());
        Assert.Equal("3.500s", q.GetProperty("maxAge").GetString());
        Assert.Equal(7, q.GetProperty("limit").GetInt32());
        Assert.Equal("en", q.GetProperty("language").GetString());
        Assert.Equal("title,pageCount", q.GetProperty("readMask").GetString());
        Assert.Equal(["GENRE_FICTION", "GENRE_HISTORY"], q.GetProperty("genres").EnumerateArray().Select(g => g.GetString()));
        Assert.Equal(["5"], q.GetProperty("ids").EnumerateArray().Select(i => i.GetString()));
    }

    [Fact]
    public async Task UnsetFieldsWithoutPresenceAreWrittenWithTheirDefaults()
    {
        var (_, json) = await server.SendAsync("GET", "/v1/shelves/7/books");

        var q = json.GetProperty("query");
        Assert.Equal(0, q.GetProperty("pageSize").GetInt32());
        Assert.Equal(0, q.GetProperty("tags").GetArrayLength());
        Assert.False(q.TryGetProperty("filter", out _));
        Assert.False(q.TryGetProperty("limit", out _));
    }

    [Fact]
    public async Task RequestMetadataDeadlineAndTranscodedFlagReachTheHandler()
    {
        var (_, json) = await server.SendAsync("GET", "/v1/inspect", null,
            ("authorization", "Bearer t0ken"), ("grpc-timeout", "20S"), ("x-request-id", "abc"));

        Assert.True(json.GetProperty("isTranscoded").GetBoolean());
        Assert.Equal("/flashdeal.testing.v1.BookstoreService/Inspect", json.GetProperty("method").GetString());
        var headers = json.GetProperty("headers");
        Assert.Equal("Bearer t0ken", headers.GetProperty("authorization").GetString());
        Assert.Equal("abc", headers.GetProperty("x-request-id").GetString());
        Assert.False(headers.TryGetProperty("grpc-timeout", out _));
        var left = long.Parse(json.GetProperty("deadlineMsLeft").GetString()!);
        Assert.InRange(left, 1, 20_000);
    }

    [Fact]
    public async Task ResponseHeadersWrittenByTheHandlerBecomeHttpHeaders()
    {
        var (response, _) = await server.SendAsync("POST", "/v1/echo", """{"message":"m"}""", ("echo-color", "blue"));

        Assert.Equal("blue", response.Headers.GetValues("echo-color").Single());
        Assert.Equal("blue", response.Headers.GetValues("trailer-echo-color").Single());
    }

    [Fact]
    public async Task TheSameHandlerAndInterceptorsRunForGrpcAndRest()
    {
        var probe = $"probe-{Guid.NewGuid():N}";

        var (reply, grpcStatus) = await server.CallGrpcAsync("/flashdeal.testing.v1.EchoService/Echo",
            new EchoRequest { Message = probe, Sequence = 1 }, EchoResponse.Parser);
        var (rest, json) = await server.SendAsync("POST", "/v1/echo", $$"""{"message":"{{probe}}","sequence":2}""");

        Assert.Equal(0, grpcStatus);
        Assert.Equal(probe, reply?.Message);
        Assert.Equal(HttpStatusCode.OK, rest.StatusCode);
        Assert.Equal(probe, json.GetProperty("message").GetString());
        var calls = server.Interceptor.Calls.Where(c => c.Request.Contains(probe)).ToList();
        Assert.Equal(2, calls.Count);
        Assert.All(calls, c => Assert.Equal("/flashdeal.testing.v1.EchoService/Echo", c.Method));
        Assert.Equal([false, true], calls.Select(c => c.IsTranscoded).Order());
    }

    [Fact]
    public async Task AnInterceptorRefusalReachesRestCallersAsItsHttpStatus()
    {
        var (response, json) = await server.SendAsync("GET", "/v1/echo/x", null, ("x-deny", "test"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(7, json.GetProperty("code").GetInt32());
        Assert.Contains("Denied by interceptor", json.GetProperty("message").GetString());
    }

    [Fact]
    public async Task ClientStreamingMethodsAreNotTranscoded()
    {
        var (response, json) = await server.SendAsync("POST", "/v1/books:upload", "{}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(5, json.GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task GrpcRequestsToUnknownMethodsStillAnswerUnimplemented()
    {
        var (reply, status) = await server.CallGrpcAsync("/flashdeal.testing.v1.EchoService/NoSuchMethod",
            new EchoRequest(), EchoResponse.Parser);

        Assert.Null(reply);
        Assert.Equal((int)StatusCode.Unimplemented, status);
    }
}
