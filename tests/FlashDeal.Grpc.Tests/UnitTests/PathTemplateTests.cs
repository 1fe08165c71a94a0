using FlashDeal.Grpc.Transcoding;

namespace FlashDeal.Grpc.Tests.UnitTests;

public class PathTemplateTests
{
    [Fact]
    public void ParsesLiteralsVariablesAndVerb()
    {
        var template = PathTemplate.Parse("/v1/{name=shelves/*/books/*}:move");

        Assert.Equal("move", template.Verb);
        Assert.Equal(
            [TemplateSegmentKind.Literal, TemplateSegmentKind.Literal, TemplateSegmentKind.Wildcard,
                TemplateSegmentKind.Literal, TemplateSegmentKind.Wildcard],
            template.Segments.Select(s => s.Kind));
        var variable = Assert.Single(template.Variables);
        Assert.Equal(new TemplateVariable("name", 1, 5, CapturesOneSegment: false), variable);
    }

    [Fact]
    public void BareVariableCapturesOneSegment()
    {
        var template = PathTemplate.Parse("/v1/products/{product.product_id}");

        Assert.Null(template.Verb);
        Assert.Equal(new TemplateVariable("product.product_id", 2, 3, CapturesOneSegment: true), template.Variables[0]);
    }

    [Theory]
    [InlineData("v1/echo", "start with '/'")]
    [InlineData("/v1/{name", "not closed")]
    [InlineData("/v1//x", "empty segment")]
    [InlineData("/v1/{a=**}/{b=**}", "only once")]
    [InlineData("/v1/{a}/{a}", "bound twice")]
    [InlineData("/v1/{1abc}", "not a field path")]
    [InlineData("/v1/{a}x", "expected '/'")]
    [InlineData("/v1/echo:", "not a valid verb")]
    [InlineData("/v1/ec*ho", "not a valid segment")]
    public void RejectsInvalidTemplatesNamingTheProblem(string text, string problem)
    {
        var e = Assert.Throws<FormatException>(() => PathTemplate.Parse(text));
        Assert.Contains(problem, e.Message);
        Assert.Contains(text, e.Message);
    }

    [Theory]
    [InlineData("/v1/deals/{deal_id}", "/v1/deals/abc", "abc")]
    [InlineData("/v1/deals/{deal_id}", "/v1/deals/a%20b%2Fc", "a b/c")]
    [InlineData("/v1/deals/{deal_id}:watch", "/v1/deals/abc:watch", "abc")]
    [InlineData("/v1/deals/{deal_id}:watch", "/v1/deals/a:b:watch", "a:b")]
    [InlineData("/v1/deals/{deal_id}", "/v1/deals/abc%3Awatch", "abc:watch")]
    [InlineData("/v1/{name=shelves/*/books/*}", "/v1/shelves/s%201/books/b%2F2", "shelves/s 1/books/b%2F2")]
    [InlineData("/v1/files/{path=**}", "/v1/files/a/b/c.txt", "a/b/c.txt")]
    [InlineData("/v1/files/{path=**}", "/v1/files", "")]
    [InlineData("/v1/{path=**}/raw", "/v1/a/b/raw", "a/b")]
    [InlineData("/V1/Echo/{m}", "/v1/ECHO/x", "x")]
    public void MatchesAndDecodesVariableValues(string template, string path, string value)
    {
        Assert.True(PathTemplate.Parse(template).TryMatch(RequestPath.Parse(path), out var values));
        Assert.Equal(value, Assert.Single(values));
    }

    [Theory]
    [InlineData("/v1/deals/{deal_id}:watch", "/v1/deals/abc")]
    [InlineData("/v1/deals/{deal_id}:watch", "/v1/deals/abc:cancel")]
    [InlineData("/v1/deals/{deal_id}", "/v1/deals/abc/more")]
    [InlineData("/v1/deals/{deal_id}", "/v1/deals/")]
    [InlineData("/v1/deals/{deal_id}", "/v2/deals/abc")]
    [InlineData("/v1/{name=shelves/*/books/*}", "/v1/shelves/1/books")]
    [InlineData("/v1/{name=shelves/*/books/*}", "/v1/shelves/1/papers/2")]
    [InlineData("/v1/{path=**}/raw", "/v1/a/b/cooked")]
    [InlineData("/v1/echo", "/v1/echo:fail")]
    public void RejectsPathsTheTemplateDoesNotDescribe(string template, string path) =>
        Assert.False(PathTemplate.Parse(template).TryMatch(RequestPath.Parse(path), out _));

    [Fact]
    public void NestedFieldsAndSeveralVariablesAreCapturedInOrder()
    {
        var template = PathTemplate.Parse("/v1/books/{ref.shelf_id}/{ref.book_id}");

        Assert.True(template.TryMatch(RequestPath.Parse("/v1/books/3/abc"), out var values));
        Assert.Equal(["3", "abc"], values);
        Assert.Equal(["ref.shelf_id", "ref.book_id"], template.Variables.Select(v => v.FieldPath));
    }

    [Fact]
    public void VerbTemplateIsMoreSpecificThanAPlainVariable()
    {
        var watch = PathTemplate.Parse("/v1/deals/{deal_id}:watch");
        var get = PathTemplate.Parse("/v1/deals/{deal_id}");
        var path = RequestPath.Parse("/v1/deals/abc:watch");

        Assert.True(get.TryMatch(path, out var getValues));
        Assert.Equal("abc:watch", getValues[0]);
        Assert.True(watch.TryMatch(path, out _));
        Assert.True(watch.CompareSpecificity(get) > 0);
        Assert.True(get.CompareSpecificity(watch) < 0);
    }

    [Fact]
    public void LiteralBeatsWildcardWhichBeatsDoubleWildcard()
    {
        var literal = PathTemplate.Parse("/v1/shelves/special");
        var wildcard = PathTemplate.Parse("/v1/shelves/{id}");
        var rest = PathTemplate.Parse("/v1/{path=**}");

        Assert.True(literal.CompareSpecificity(wildcard) > 0);
        Assert.True(wildcard.CompareSpecificity(rest) > 0);
        Assert.True(literal.CompareSpecificity(rest) > 0);
    }

    [Theory]
    [InlineData("/v1/echo", "/v1/echo")]
    [InlineData("/.well-known/jwks.json", "/.well-known/jwks.json")]
    [InlineData("/v1/echo:fail", "/v1/{**transcodedPath}")]
    [InlineData("/v1/deals/{deal_id}:watch", "/v1/deals/{**transcodedPath}")]
    [InlineData("/v1/{name=shelves/*}", "/v1/shelves/{**transcodedPath}")]
    [InlineData("/{path=**}", "/{**transcodedPath}")]
    public void RoutePatternKeepsTheLiteralPrefix(string template, string pattern) =>
        Assert.Equal(pattern, PathTemplate.Parse(template).ToRoutePattern());

    [Fact]
    public void RequestPathSplitsTheVerbOffTheLastSegmentOnly()
    {
        var path = RequestPath.Parse("/v1/a:b/c:d:watch");

        Assert.Equal(["v1", "a:b", "c:d:watch"], path.Segments);
        Assert.Equal(["v1", "a:b", "c:d"], path.SegmentsBeforeVerb!);
        Assert.Equal("watch", path.Verb);
        Assert.Null(RequestPath.Parse("/v1/deals/abc").Verb);
    }
}
