using System.Buffers;
using System.IO.Compression;

namespace FlashDeal.Grpc;

/// <summary>A grpc-encoding codec.</summary>
public interface ICompressionProvider
{
    string EncodingName { get; }

    byte[] Compress(ReadOnlySpan<byte> data);

    /// <summary>Decompresses, failing with RESOURCE_EXHAUSTED when the result would pass <paramref name="maxSize"/>.</summary>
    byte[] Decompress(in ReadOnlySequence<byte> data, int maxSize);
}

public sealed class GzipCompressionProvider(CompressionLevel level = CompressionLevel.Fastest) : ICompressionProvider
{
    public string EncodingName => GrpcProtocol.GzipEncoding;

    public byte[] Compress(ReadOnlySpan<byte> data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, level, leaveOpen: true))
        {
            gzip.Write(data);
        }
        return output.ToArray();
    }

    public byte[] Decompress(in ReadOnlySequence<byte> data, int maxSize)
    {
        using var input = new MemoryStream(data.ToArray());
        using var gzip = new GZipStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream();
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = gzip.Read(buffer, 0, buffer.Length)) > 0)
            {
                if (output.Length + read > maxSize)
                {
                    throw new RpcException(StatusCode.ResourceExhausted,
                        $"Received message larger than max (decompressed > {maxSize})");
                }
                output.Write(buffer, 0, read);
            }
        }
        catch (InvalidDataException e)
        {
            throw new RpcException(StatusCode.Internal, $"Failed to decompress message: {e.Message}");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        return output.ToArray();
    }
}

/// <summary>The codecs a server or client knows, by grpc-encoding name.</summary>
public sealed class CompressionProviders
{
    private readonly Dictionary<string, ICompressionProvider> _providers = new(StringComparer.OrdinalIgnoreCase);

    public CompressionProviders(IEnumerable<ICompressionProvider>? providers = null)
    {
        foreach (var p in providers ?? [new GzipCompressionProvider()])
        {
            _providers[p.EncodingName] = p;
        }
    }

    public ICompressionProvider? Find(string? name) =>
        name is null ? null : _providers.GetValueOrDefault(name);

    /// <summary>Value for grpc-accept-encoding: identity plus every known codec.</summary>
    public string AcceptEncoding => string.Join(",", new[] { GrpcProtocol.IdentityEncoding }.Concat(_providers.Keys));
}
