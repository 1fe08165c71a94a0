using BenchmarkDotNet.Attributes;

namespace FlashDeal.Grpc.Benchmarks;

/// <summary>grpc-message percent-encoding: the ASCII fast path every error takes, and the escaping path.</summary>
[MemoryDiagnoser]
public class StatusBenchmarks
{
    private const string Ascii = "Deal 42 is sold out; retry after the next drop.";
    private const string NonAscii = "Angebot 42 ausverkauft – 100 % vergeben, 売り切れ";
    private static readonly string Encoded = Status.EncodeMessage(NonAscii);

    [Benchmark(Baseline = true)]
    public string EncodeAsciiMessage() => Status.EncodeMessage(Ascii);

    [Benchmark]
    public string EncodeNonAsciiMessage() => Status.EncodeMessage(NonAscii);

    [Benchmark]
    public string DecodeNonAsciiMessage() => Status.DecodeMessage(Encoded);
}
