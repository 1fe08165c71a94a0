using BenchmarkDotNet.Attributes;

namespace FlashDeal.Grpc.Benchmarks;

/// <summary>grpc-timeout header: parsed on every call that has a deadline, formatted by every client call that sets one.</summary>
[MemoryDiagnoser]
public class TimeoutBenchmarks
{
    [Benchmark]
    [Arguments("100m")]
    [Arguments("99999999n")]
    public TimeSpan ParseTimeout(string value) =>
        GrpcProtocol.TryParseTimeout(value, out var timeout) ? timeout : throw new InvalidOperationException(value);

    [Benchmark]
    public string FormatTimeout() => GrpcProtocol.FormatTimeout(TimeSpan.FromMilliseconds(250));
}
