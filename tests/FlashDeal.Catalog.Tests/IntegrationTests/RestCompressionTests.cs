using System.Buffers.Binary;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FlashDeal.Catalog.Tests.Infrastructure;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.TestInfrastructure;
using Google.Protobuf;

namespace FlashDeal.Catalog.Tests.IntegrationTests;

/// <summary>
/// The catalog's REST answers compressed as the client asks (brotli, gzip) from 1 KiB on, small ones never, the
/// WatchDeal stream never (it must flow line by line), and gRPC keeping its own per-call compression.
/// </summary>
[Collection(DataServers.Name)]
public sealed class RestCompressionTests(RestCompressionTests.Fixture catalog) : IClassFixture<RestCompressionTests.Fixture>
{
    public sealed class Fixture(PostgresServer postgres, RedisServer redis) : CatalogFixture(postgres, redis);

    private static readonly TimeSpan MessageTimeout = TimeSpan.FromSeconds(10);

    private async Task<HttpResponseMessage> GetAsync(string path, string? acceptEncoding,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (acceptEncoding is not null)
        {
            request.Headers.TryAddWithoutValidation("accept-encoding", acceptEncoding);
        }
        return await catalog.Host.Http.SendAsync(request, completion);
    }

    /// <summary>Content-Encoding ("" when none), the decoded body and the bytes that travelled.</summary>
    private static async Task<(string Encoding, string Json, int Sent)> ReadAsync(HttpResponseMessage response)
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
        using var reader = new StreamReader(decoder, Encoding.UTF8);
        return (encoding, await reader.ReadToEndAsync(), raw.Length);
    }

    private async Task<string> CategoryWithProductsAsync(int count)
    {
        var category = "compress-" + Guid.NewGuid().ToString("N")[..8];
        for (var i = 0; i < count; i++)
        {
            await catalog.CreateProductAsync(name: $"Aurora X{200 + i} wireless headphones", category: category,
                description: "Over-ear, active noise cancelling, 40 h battery, USB-C fast charge.");
        }
        return category;
    }

    [Fact]
    public async Task LargeListIsCompressedWithGzipOrBrotliAsAskedAndDecodesToTheSameJson()
    {
        var path = $"/v1/products?category={await CategoryWithProductsAsync(8)}&pageSize=50";
        var (plainEncoding, plain, plainSent) = await ReadAsync(await GetAsync(path, null));
        Assert.Equal("", plainEncoding);
        Assert.True(plainSent >= 1024, $"the list is only {plainSent} bytes");
        Assert.Equal(8, JsonDocument.Parse(plain).RootElement.GetProperty("products").GetArrayLength());

        foreach (var (asked, expected) in new[] { ("gzip", "gzip"), ("br", "br"), ("gzip, deflate, br", "br") })
        {
            var response = await GetAsync(path, asked);
            var (encoding, json, sent) = await ReadAsync(response);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(expected, encoding);
            Assert.Equal(plain, json);
            Assert.True(sent < plainSent / 2, $"{asked}: {sent} of {plainSent} bytes");
            Assert.Contains("Accept-Encoding", response.Headers.Vary);
        }
    }

    [Fact]
    public async Task SmallAnswersAreNeverCompressed()
    {
        var deal = await catalog.CreateDealAsync(await catalog.CreateProductAsync(), TimeSpan.FromHours(1), TimeSpan.FromHours(1));

        var response = await GetAsync($"/v1/deals/{deal.DealId}", "gzip, br");
        var (encoding, json, sent) = await ReadAsync(response);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("", encoding);
        Assert.True(sent < 1024, $"GetDeal is {sent} bytes");
        Assert.Equal(sent, response.Content.Headers.ContentLength);
        Assert.Equal(deal.DealId, JsonDocument.Parse(json).RootElement.GetProperty("deal").GetProperty("dealId").GetString());

        var missing = await GetAsync($"/v1/deals/{Guid.NewGuid()}", "gzip, br");
        var (errorEncoding, error, _) = await ReadAsync(missing);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("", errorEncoding);
        Assert.Contains("DEAL_NOT_FOUND", error);
    }

    [Fact]
    public async Task WatchStreamIsNeverCompressedAndFlowsLineByLine()
    {
        var deal = await catalog.CreateDealAsync(await catalog.CreateProductAsync(), TimeSpan.FromHours(1), TimeSpan.FromHours(1),
            stock: 10);
        using var response = await GetAsync($"/v1/deals/{deal.DealId}:watch", "gzip, br", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(response.Content.Headers.ContentEncoding);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());

        // Each snapshot arrives while the stream stays open: nothing holds it back for a compressor.
        var first = await reader.ReadLineAsync().WaitAsync(MessageTimeout);
        Assert.Equal(10, JsonDocument.Parse(first!).RootElement.GetProperty("snapshot").GetProperty("remainingStock").GetInt32());
        await catalog.RedisAsync("DECRBY", $"{{deal:{deal.DealId}}}:stock", "3");
        var second = await reader.ReadLineAsync().WaitAsync(MessageTimeout);
        Assert.Equal(7, JsonDocument.Parse(second!).RootElement.GetProperty("snapshot").GetProperty("remainingStock").GetInt32());
    }

    [Fact]
    public async Task GrpcKeepsItsOwnPerCallCompressionWhateverAcceptEncodingSays()
    {
        var category = await CategoryWithProductsAsync(8);
        var message = new ListProductsRequest { Category = category, PageSize = 50 }.ToByteArray();
        var frame = new byte[5 + message.Length];
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), message.Length);
        message.CopyTo(frame, 5);
        using var http = new HttpClient { BaseAddress = catalog.Host.GrpcAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/flashdeal.catalog.v1.CatalogService/ListProducts")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(frame),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        request.Headers.TryAddWithoutValidation("grpc-accept-encoding", "gzip");
        request.Headers.TryAddWithoutValidation("accept-encoding", "gzip, br");

        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal("0", response.TrailingHeaders.GetValues("grpc-status").Single());
        // gRPC's message compression: grpc-encoding, the frame's compressed flag; HTTP's Content-Encoding never.
        Assert.Equal("gzip", response.Headers.GetValues("grpc-encoding").Single());
        Assert.Empty(response.Content.Headers.ContentEncoding);
        Assert.Equal(1, body[0]);
        var compressed = body.AsSpan(5, BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(1))).ToArray();
        await using var gzip = new GZipStream(new MemoryStream(compressed), CompressionMode.Decompress);
        Assert.Equal(8, ListProductsResponse.Parser.ParseFrom(gzip).Products.Count);
    }
}
