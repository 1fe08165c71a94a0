using System.Text.Json;
using FlashDeal.Grpc.Testing;
using FlashDeal.Grpc.Testing.V1;
using FlashDeal.Grpc.Transcoding;
using Google.Api;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace FlashDeal.Grpc.Tests.UnitTests;

public class TranscodingBindingTests
{
    private static readonly ServiceModel Bookstore = GrpcServiceRegistry.Build(typeof(BookstoreService), []);

    private static ServiceMethod Method(string name) => Bookstore.Methods.Single(m => m.MethodName == name);

    private static TranscodedRoute Route(string method) => TranscodedRoute.FromMethod(Method(method))[0];

    private static ListBooksRequest BindListBooks(params (string Key, string[] Values)[] query)
    {
        var request = new ListBooksRequest();
        RequestBinder.BindQuery(Query(query), request, Route("ListBooks"), JsonParser.Default, ignoreUnknown: false);
        return request;
    }

    private static QueryCollection Query((string Key, string[] Values)[] query) =>
        new(query.ToDictionary(q => q.Key, q => new StringValues(q.Values)));

    private static BadRequest.Types.FieldViolation RejectedQuery(params (string Key, string[] Values)[] query)
    {
        var e = Assert.Throws<RpcException>(() => BindListBooks(query));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        return Assert.Single(e.GetDetail<BadRequest>()!.FieldViolations);
    }

    [Fact]
    public void ScalarsBindByProtoOrJsonName()
    {
        var request = BindListBooks(("page_size", ["25"]), ("includeArchived", ["true"]), ("min_pages", ["12345678901"]),
            ("maxPages", ["18446744073709551615"]), ("min_rating", ["4.5"]), ("weight", ["-Infinity"]));

        Assert.Equal(25, request.PageSize);
        Assert.True(request.IncludeArchived);
        Assert.Equal(12345678901L, request.MinPages);
        Assert.Equal(ulong.MaxValue, request.MaxPages);
        Assert.Equal(4.5, request.MinRating);
        Assert.Equal(float.NegativeInfinity, request.Weight);
    }

    [Fact]
    public void RepeatedParametersAccumulate()
    {
        var request = BindListBooks(("tags", ["a", "b"]), ("ids", ["1", "-2"]), ("genres", ["GENRE_SCIENCE", "3"]));

        Assert.Equal(["a", "b"], request.Tags);
        Assert.Equal([1L, -2L], request.Ids);
        Assert.Equal([Genre.Science, Genre.History], request.Genres);
    }

    [Fact]
    public void DottedNamesReachNestedFields()
    {
        var request = BindListBooks(("filter.author", ["ann"]), ("filter.genre", ["2"]),
            ("filter.publishedAfter", ["2023-01-02T03:04:05Z"]));

        Assert.Equal("ann", request.Filter.Author);
        Assert.Equal(Genre.Science, request.Filter.Genre);
        Assert.Equal(new DateTime(2023, 1, 2, 3, 4, 5, DateTimeKind.Utc), request.Filter.PublishedAfter.ToDateTime());
    }

    [Fact]
    public void WellKnownTypesBindFromTheirJsonStrings()
    {
        var request = BindListBooks(("published_before", ["2024-01-01T00:00:00.5+01:00"]), ("max_age", ["1.5s"]),
            ("read_mask", ["title,pageCount"]), ("limit", ["7"]), ("language", ["en"]), ("cursor", ["_-8"]));

        Assert.Equal(new DateTime(2023, 12, 31, 23, 0, 0, 500, DateTimeKind.Utc), request.PublishedBefore.ToDateTime());
        Assert.Equal(TimeSpan.FromSeconds(1.5), request.MaxAge.ToTimeSpan());
        Assert.Equal(["title", "page_count"], request.ReadMask.Paths);
        Assert.Equal(7, request.Limit);
        Assert.Equal("en", request.Language);
        Assert.Equal(new byte[] { 0xFF, 0xEF }, request.Cursor.ToByteArray());
    }

    [Fact]
    public void UnknownParameterIsRejectedByName() =>
        Assert.Equal("shelfs", RejectedQuery(("shelfs", ["1"])).Field);

    [Fact]
    public void ParameterBoundByThePathIsRejected()
    {
        var violation = RejectedQuery(("shelf_id", ["1"]));
        Assert.Contains("path", violation.Description);
    }

    [Theory]
    [InlineData("page_size", "ten", "int32")]
    [InlineData("page_size", "99999999999", "int32")]
    [InlineData("include_archived", "yes", "bool")]
    [InlineData("maxPages", "-1", "uint64")]
    [InlineData("weight", "1e50", "float")]
    [InlineData("genre", "GENRE_POETRY", "GENRE_SCIENCE")]
    [InlineData("cursor", "***", "base64")]
    [InlineData("max_age", "soon", "Duration")]
    [InlineData("filter", "x", "dotted names")]
    [InlineData("labels", "x", "map")]
    public void BadValueNamesTheParameterAndTheProblem(string key, string value, string problem)
    {
        var violation = RejectedQuery((key, [value]));
        Assert.Equal(key, violation.Field);
        Assert.Contains(problem, violation.Description);
    }

    [Fact]
    public void SingularFieldGivenTwiceIsRejected() =>
        Assert.Contains("2 times", RejectedQuery(("page_size", ["1", "2"])).Description);

    [Fact]
    public void QueryOnABodyStarMethodIsRejected()
    {
        var e = Assert.Throws<RpcException>(() => RequestBinder.BindQuery(Query([("title", ["x"])]), new Book(),
            Route("ReplaceBook"), JsonParser.Default, ignoreUnknown: false));
        Assert.Contains("body carries every field", e.Status.Detail);
    }

    [Fact]
    public void QueryNamingTheBodyFieldIsRejected()
    {
        var e = Assert.Throws<RpcException>(() => RequestBinder.BindQuery(Query([("book.title", ["x"])]),
            new CreateBookRequest(), Route("CreateBook"), JsonParser.Default, ignoreUnknown: false));
        Assert.Contains("bound by the body", e.Status.Detail);
    }

    [Fact]
    public void IgnoreUnknownFieldsSkipsUnknownParameters()
    {
        var request = new ListBooksRequest();
        RequestBinder.BindQuery(Query([("nope", ["1"]), ("page_size", ["3"])]), request, Route("ListBooks"),
            JsonParser.Default, ignoreUnknown: true);
        Assert.Equal(3, request.PageSize);
    }

    [Fact]
    public void RuleShapesAreReadFromTheDescriptor()
    {
        var getBook = TranscodedRoute.FromMethod(Method("GetBook"));
        Assert.Equal(["GET /v1/{name=shelves/*/books/*}", "GET /v1/books/{ref.shelf_id}/{ref.book_id}"],
            getBook.Select(r => r.ToString()));

        var createBook = Route("CreateBook");
        Assert.Equal("book", createBook.BodyField?.Name);
        Assert.Equal(["shelf_id", "book"], createBook.BoundPaths);

        Assert.Equal("theme", Route("GetShelfTheme").ResponseBodyField?.Name);
        Assert.Equal("LEND", Route("LendBook").HttpMethod);
        Assert.True(Route("ReplaceBook").BodyIsWholeRequest);
    }

    [Theory]
    [InlineData("/v1/{nope}", "", "", "has no field 'nope'")]
    [InlineData("/v1/{filter.nope}", "", "", "'filter' has no field 'nope'")]
    [InlineData("/v1/{tags}", "", "", "singular scalar")]
    [InlineData("/v1/{filter}", "", "", "singular scalar")]
    [InlineData("/v1/{page_size=a/*}", "", "", "must be a string")]
    [InlineData("/v1/x", "nope", "", "body field 'nope'")]
    [InlineData("/v1/x", "", "nope", "response_body field 'nope'")]
    [InlineData("v1/x", "", "", "start with '/'")]
    public void InvalidRulesFailAtStartupNamingTheProblem(string path, string body, string responseBody, string problem)
    {
        var rule = new HttpRule { Get = path, Body = body, ResponseBody = responseBody };
        var e = Assert.Throws<InvalidOperationException>(() => TranscodedRoute.Create(Method("ListBooks"), rule));
        Assert.Contains(problem, e.Message);
        Assert.Contains("/flashdeal.testing.v1.BookstoreService/ListBooks", e.Message);
    }

    [Theory]
    [InlineData(StatusCode.OK, 200)]
    [InlineData(StatusCode.Cancelled, 499)]
    [InlineData(StatusCode.Unknown, 500)]
    [InlineData(StatusCode.InvalidArgument, 400)]
    [InlineData(StatusCode.DeadlineExceeded, 504)]
    [InlineData(StatusCode.NotFound, 404)]
    [InlineData(StatusCode.AlreadyExists, 409)]
    [InlineData(StatusCode.PermissionDenied, 403)]
    [InlineData(StatusCode.ResourceExhausted, 429)]
    [InlineData(StatusCode.FailedPrecondition, 400)]
    [InlineData(StatusCode.Aborted, 409)]
    [InlineData(StatusCode.OutOfRange, 400)]
    [InlineData(StatusCode.Unimplemented, 501)]
    [InlineData(StatusCode.Internal, 500)]
    [InlineData(StatusCode.Unavailable, 503)]
    [InlineData(StatusCode.DataLoss, 500)]
    [InlineData(StatusCode.Unauthenticated, 401)]
    public void StatusCodesMapToTheStandardHttpStatus(StatusCode code, int http) =>
        Assert.Equal(http, HttpStatusMapping.ToHttpStatus(code));

    [Fact]
    public void StatusJsonRendersKnownDetailsAndDropsUnknownOnes()
    {
        var json = new TranscodingJson([BookstoreReflection.Descriptor], new JsonTranscodingOptions());
        var rich = new Google.Rpc.Status { Code = 3, Message = "bad" };
        rich.Details.Add(Any.Pack(new BadRequest
        {
            FieldViolations = { new BadRequest.Types.FieldViolation { Field = "quantity", Description = "must be positive" } },
        }));
        rich.Details.Add(new Any { TypeUrl = "type.googleapis.com/unknown.Type", Value = ByteString.CopyFromUtf8("x") });

        var text = json.FormatStatus(new Status(StatusCode.InvalidArgument, "bad", rich));

        using var parsed = JsonDocument.Parse(text);
        var root = parsed.RootElement;
        Assert.Equal(3, root.GetProperty("code").GetInt32());
        Assert.Equal("bad", root.GetProperty("message").GetString());
        var detail = Assert.Single(root.GetProperty("details").EnumerateArray());
        Assert.Equal("type.googleapis.com/google.rpc.BadRequest", detail.GetProperty("@type").GetString());
        Assert.Equal("quantity", detail.GetProperty("fieldViolations")[0].GetProperty("field").GetString());
    }
}
