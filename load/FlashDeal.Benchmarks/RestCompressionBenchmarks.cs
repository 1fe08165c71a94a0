using System.IO.Compression;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using FlashDeal.Contracts.Catalog.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.AspNetCore.ResponseCompression;
using Microsoft.Extensions.Options;

namespace FlashDeal.Benchmarks;

/// <summary>
/// The CPU one REST answer costs to compress (docs/catalog.md, "Compression"): a 100-item ListProducts page as JSON
/// transcoding writes it (compact JSON), through the compression streams ASP.NET Core's providers create, at the two
/// levels <c>Service:RestCompressionLevel</c> offers. The sizes are printed once by the setup.
/// </summary>
[MemoryDiagnoser]
public class RestCompressionBenchmarks
{
    private static readonly string[] Categories = ["headphones", "speakers", "phones", "laptops", "watches"];
    private static readonly string[] Features =
        ["active noise cancelling", "40 h battery", "USB-C fast charge", "water resistant", "2-year warranty", "Bluetooth 5.3"];

    private readonly MemoryStream _output = new();
    private byte[] _json = [];
    private ICompressionProvider _gzipFastest = null!;
    private ICompressionProvider _gzipOptimal = null!;
    private ICompressionProvider _brotliFastest = null!;
    private ICompressionProvider _brotliOptimal = null!;

    /// <summary>A page of 100 products as the catalog returns them: v7 ids, names, categories, descriptions, prices.</summary>
    public static byte[] ProductPageJson(int count)
    {
        var page = new ListProductsResponse { NextPageToken = Convert.ToBase64String(Guid.CreateVersion7().ToByteArray()) };
        var random = new Random(14);
        var created = new DateTime(2026, 5, 1, 9, 0, 0, DateTimeKind.Utc);
        for (var i = 0; i < count; i++)
        {
            var category = Categories[random.Next(Categories.Length)];
            var time = Timestamp.FromDateTime(created.AddMinutes(random.Next(100_000)));
            page.Products.Add(new Product
            {
                ProductId = Guid.CreateVersion7().ToString(),
                Name = $"{(char)('A' + random.Next(26))}{random.Next(100, 999)} {category} {random.Next(2, 9)}th gen",
                Description = string.Join(", ", Features.OrderBy(_ => random.Next()).Take(3)) + ".",
                Category = category,
                ListPriceCents = random.Next(1_999, 249_999),
                Currency = "EUR",
                CreateTime = time,
                UpdateTime = time,
            });
        }
        // JSON transcoding writes compact System.Text.Json; the protobuf formatter's spacing is dropped here.
        var formatted = new JsonFormatter(JsonFormatter.Settings.Default.WithFormatDefaultValues(true)).Format(page);
        return JsonSerializer.SerializeToUtf8Bytes(JsonDocument.Parse(formatted).RootElement);
    }

    [GlobalSetup]
    public void Setup()
    {
        _json = ProductPageJson(100);
        _gzipFastest = new GzipCompressionProvider(Options.Create(new GzipCompressionProviderOptions { Level = CompressionLevel.Fastest }));
        _gzipOptimal = new GzipCompressionProvider(Options.Create(new GzipCompressionProviderOptions { Level = CompressionLevel.Optimal }));
        _brotliFastest = new BrotliCompressionProvider(Options.Create(new BrotliCompressionProviderOptions { Level = CompressionLevel.Fastest }));
        _brotliOptimal = new BrotliCompressionProvider(Options.Create(new BrotliCompressionProviderOptions { Level = CompressionLevel.Optimal }));
        Console.WriteLine($"// 100-item ListProducts JSON: {_json.Length} B; gzip Fastest {Compress(_gzipFastest)} B, " +
            $"gzip Optimal {Compress(_gzipOptimal)} B, brotli Fastest {Compress(_brotliFastest)} B, " +
            $"brotli Optimal {Compress(_brotliOptimal)} B");
    }

    [Benchmark]
    public long GzipFastest() => Compress(_gzipFastest);

    [Benchmark]
    public long GzipOptimal() => Compress(_gzipOptimal);

    [Benchmark]
    public long BrotliFastest() => Compress(_brotliFastest);

    [Benchmark]
    public long BrotliOptimal() => Compress(_brotliOptimal);

    private long Compress(ICompressionProvider provider)
    {
        _output.SetLength(0);
        using (var stream = provider.CreateStream(_output))
        {
            stream.Write(_json);
        }
        return _output.Length;
    }
}
