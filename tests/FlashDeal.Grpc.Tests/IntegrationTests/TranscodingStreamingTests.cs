using System.Net;
using System.Text.Json;

namespace FlashDeal.Grpc.Tests.IntegrationTests;

/// <summary>Server streaming over REST: newline-delimited JSON, one flushed line per message, errors as a last line.</summary>
public class TranscodingStreamingTests(TranscodingServerFixture server) : IClassFixture<TranscodingServerFixture>
{
    private static readonly TimeSpan LineTimeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task ServerStreamIsOneJsonMessagePerLine()
    {
        var (response, lines) = await ReadAllLinesAsync("/v1/shelves/7:watch?count=3");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal([0, 1, 2], lines.Select(l => l.GetProperty("sequence").GetInt32()));
        Assert.All(lines, l => Assert.Equal(7, l.GetProperty("shelfId").GetInt32()));
    }

    [Fact]
    public async Task EachMessageIsFlushedBeforeTheNextIsProduced()
    {
        // The second message follows after 60 s: the first line can only arrive now if it was flushed on its own.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/echo:expand?message=m&count=2&interval_ms=60000");
        using var response = await server.Rest.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());

        var first = await reader.ReadLineAsync().WaitAsync(LineTimeout);

        using var json = JsonDocument.Parse(first!);
        Assert.Equal("m-0", json.RootElement.GetProperty("message").GetString());
    }

    [Fact]
    public async Task ErrorAfterTheFirstMessageIsAFinalErrorLine()
    {
        var (response, lines) = await ReadAllLinesAsync("/v1/shelves/7:watch?count=5&fail_after=2");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, lines.Count);
        Assert.Equal(1, lines[1].GetProperty("sequence").GetInt32());
        var error = lines[2].GetProperty("error");
        Assert.Equal((int)StatusCode.Aborted, error.GetProperty("code").GetInt32());
        Assert.Contains("aborted after 2", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task ErrorBeforeAnyMessageIsAnOrdinaryHttpError()
    {
        var (response, json) = await server.SendAsync("GET", "/v1/shelves/0:watch?count=3");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal((int)StatusCode.NotFound, json.GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task EmptyStreamIsAnEmptyOkBody()
    {
        var (response, lines) = await ReadAllLinesAsync("/v1/shelves/7:watch?count=0");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(lines);
    }

    private async Task<(HttpResponseMessage Response, List<JsonElement> Lines)> ReadAllLinesAsync(string path)
    {
        var response = await server.Rest.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(text.Length == 0 || text.EndsWith('\n'), "every line ends with a newline");
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement.Clone())
            .ToList();
        return (response, lines);
    }
}
