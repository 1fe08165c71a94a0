using System.IO.Compression;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace FlashDeal.ServiceDefaults.Tests.IntegrationTests;

/// <summary>
/// REST response compression from the shared pipeline (RestCompression): brotli or gzip as Accept-Encoding asks, from
/// 1,024 bytes on, never below, whatever flushes the app makes on the way; /metrics too; off by a setting.
/// </summary>
public sealed class RestCompressionTests : IAsyncLifetime
{
    private DefaultsHost _host = null!;

    public async Task InitializeAsync() => _host = await DefaultsHost.StartAsync(map: MapSized);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    /// <summary>A JSON body of exactly n bytes, written in three pieces with a flush after each (as a serializer may).</summary>
    private static void MapSized(WebApplication app) => app.MapGet("/v1/sized/{n:int}", async (HttpContext http, int n) =>
    {
        http.Response.ContentType = "application/json; charset=utf-8";
        var body = Sized(n);
        var third = body.Length / 3;
        foreach (var piece in (byte[][])[body[..third], body[third..(2 * third)], body[(2 * third)..]])
        {
            await http.Response.Body.WriteAsync(piece);
            await http.Response.Body.FlushAsync();
        }
    });

    private static byte[] Sized(int n) => Encoding.UTF8.GetBytes("{\"a\":\"" + new string('x', n - 8) + "\"}");

    private static async Task<HttpResponseMessage> GetAsync(HttpClient http, string path, string? acceptEncoding,
        string? accept = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (acceptEncoding is not null)
        {
            request.Headers.TryAddWithoutValidation("accept-encoding", acceptEncoding);
        }
        if (accept is not null)
        {
            request.Headers.TryAddWithoutValidation("accept", accept);
        }
        return await http.SendAsync(request);
    }

    /// <summary>The body as sent, decoded by its Content-Encoding ("" when none).</summary>
    private static async Task<(string Encoding, byte[] Body, long Sent)> ReadAsync(HttpResponseMessage response)
    {
        var raw = await response.Content.ReadAsByteArrayAsync();
        var encoding = string.Join(",", response.Content.Headers.ContentEncoding);
        await using Stream decoder = encoding switch
        {
            "gzip" => new GZipStream(new MemoryStream(raw), CompressionMode.Decompress),
            "br" => new BrotliStream(new MemoryStream(raw), CompressionMode.Decompress),
            "" => new MemoryStream(raw),
            _ => throw new InvalidOperationException("unexpected Content-Encoding " + encoding),
        };
        var body = new MemoryStream();
        await decoder.CopyToAsync(body);
        return (encoding, body.ToArray(), raw.Length);
    }

    [Theory]
    [InlineData("gzip", "gzip")]
    [InlineData("br", "br")]
    [InlineData("gzip, deflate, br", "br")]
    [InlineData("br;q=0.5, gzip", "gzip")]
    public async Task BodyFromTheThresholdOnIsCompressedAsAsked(string acceptEncoding, string expected)
    {
        var response = await GetAsync(_host.Http, "/v1/sized/1024", acceptEncoding);
        var (encoding, body, sent) = await ReadAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(expected, encoding);
        Assert.Equal(Sized(1024), body);
        Assert.True(sent < 1024, $"{sent} bytes sent");
        Assert.Contains("Accept-Encoding", response.Headers.Vary);
    }

    [Fact]
    public async Task BodyUnderTheThresholdGoesAsItIsWithItsLength()
    {
        var response = await GetAsync(_host.Http, "/v1/sized/1023", "gzip, br");
        var (encoding, body, _) = await ReadAsync(response);

        Assert.Equal("", encoding);
        Assert.Equal(Sized(1023), body);
        Assert.Equal(1023, response.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task NothingIsCompressedWhenTheClientDoesNotAsk()
    {
        foreach (var acceptEncoding in (string?[])[null, "identity"])
        {
            var (encoding, body, _) = await ReadAsync(await GetAsync(_host.Http, "/v1/sized/4000", acceptEncoding));
            Assert.Equal("", encoding);
            Assert.Equal(Sized(4000), body);
        }
    }

    [Fact]
    public async Task ErrorAnswersAreNeverCompressed()
    {
        var response = await GetAsync(_host.Http, "/v1/admin", "gzip, br");
        var (encoding, body, _) = await ReadAsync(response);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("", encoding);
        Assert.Contains("\"code\"", Encoding.UTF8.GetString(body));
    }

    [Fact]
    public async Task MetricsAreGzippedForPrometheus()
    {
        // What Prometheus sends when it scrapes.
        var response = await GetAsync(_host.Http, "/metrics", "gzip",
            "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1");
        var (encoding, body, sent) = await ReadAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("gzip", encoding);
        Assert.Contains("# TYPE ", Encoding.UTF8.GetString(body));
        Assert.True(sent < body.Length, $"{sent} of {body.Length} bytes sent");
    }

    [Fact]
    public async Task SettingOffLeavesRestBodiesUncompressed()
    {
        await using var host = await DefaultsHost.StartAsync(
            new Dictionary<string, string?> { ["Service:RestResponseCompression"] = "false" }, map: MapSized);

        var (encoding, body, _) = await ReadAsync(await GetAsync(host.Http, "/v1/sized/4000", "gzip, br"));

        Assert.Equal("", encoding);
        Assert.Equal(Sized(4000), body);
    }
}
