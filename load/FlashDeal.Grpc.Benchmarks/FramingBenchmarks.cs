using System.Buffers;
using BenchmarkDotNet.Attributes;
using FlashDeal.Grpc.Testing.V1;
using Google.Protobuf;

namespace FlashDeal.Grpc.Benchmarks;

/// <summary>Writing and reading one length-prefixed message frame, plain and gzip, for a small and a 64 KiB body.</summary>
[MemoryDiagnoser]
public class FramingBenchmarks
{
    private const int MaxSize = GrpcProtocol.DefaultMaxReceiveMessageSize;
    private readonly ArrayBufferWriter<byte> _writer = new(256 * 1024);
    private readonly GzipCompressionProvider _gzip = new();
    private PayloadRequest _message = null!;
    private ReadOnlySequence<byte> _frame;
    private ReadOnlySequence<byte> _gzipFrame;

    [Params(16, 64 * 1024)]
    public int BodySize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        // Text-like bytes (16 letters, seeded) so gzip has realistic work, not a run of zeros.
        var random = new Random(42);
        var body = new byte[BodySize];
        for (var i = 0; i < body.Length; i++)
        {
            body[i] = (byte)('a' + random.Next(16));
        }
        _message = new PayloadRequest { Body = ByteString.CopyFrom(body), ResponseSize = 16 };
        _frame = new ReadOnlySequence<byte>(Frame(null));
        _gzipFrame = new ReadOnlySequence<byte>(Frame(_gzip));
    }

    [Benchmark]
    public int WriteFrame() => Write(null);

    [Benchmark]
    public int WriteGzipFrame() => Write(_gzip);

    [Benchmark]
    public PayloadRequest ReadFrame() => Read(_frame);

    [Benchmark]
    public PayloadRequest ReadGzipFrame() => Read(_gzipFrame);

    private int Write(ICompressionProvider? compression)
    {
        _writer.ResetWrittenCount();
        GrpcProtocol.WriteFrame(_writer, _message, MaxSize, compression);
        return _writer.WrittenCount;
    }

    private PayloadRequest Read(ReadOnlySequence<byte> buffer)
    {
        if (!GrpcProtocol.TryReadFrame(ref buffer, MaxSize, out var compressed, out var payload))
        {
            throw new InvalidOperationException("Incomplete frame.");
        }
        return GrpcProtocol.ParsePayload(PayloadRequest.Parser, payload, compressed, _gzip, MaxSize);
    }

    private byte[] Frame(ICompressionProvider? compression)
    {
        Write(compression);
        return _writer.WrittenSpan.ToArray();
    }
}
