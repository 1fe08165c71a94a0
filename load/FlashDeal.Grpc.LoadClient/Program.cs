using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using FlashDeal.Grpc.LoadClient;

var target = new Option<string>("--target") { Description = "h2c base address, e.g. http://127.0.0.1:50051", Required = true };
var path = new Option<string>("--path")
{
    Description = "gRPC method path",
    DefaultValueFactory = _ => "/flashdeal.testing.v1.EchoService/Echo",
};
var data = new Option<FileInfo>("--data") { Description = "file holding the request as one gRPC frame", Required = true };
var connections = new Option<int>("--connections", "-c") { Description = "HTTP/2 connections", DefaultValueFactory = _ => 2 };
var concurrency = new Option<int>("--concurrency", "-m")
{
    Description = "calls in flight in total (closed loop)",
    DefaultValueFactory = _ => 64,
};
var requests = new Option<long>("--requests", "-n") { Description = "measured calls", DefaultValueFactory = _ => 100_000 };
var warmup = new Option<long>("--warmup") { Description = "calls before measuring", DefaultValueFactory = _ => 10_000 };
var timeLimit = new Option<int>("--time-limit")
{
    Description = "seconds after which a phase stops early",
    DefaultValueFactory = _ => 60,
};

var root = new RootCommand("Closed-loop unary gRPC load over h2c; prints throughput and latency percentiles.")
{
    target, path, data, connections, concurrency, requests, warmup, timeLimit,
};
root.SetAction(async parse =>
{
    var address = new Uri(new Uri(parse.GetValue(target)!), parse.GetValue(path));
    var frame = await File.ReadAllBytesAsync(parse.GetValue(data)!.FullName);
    var limit = TimeSpan.FromSeconds(parse.GetValue(timeLimit));
    using var runner = new UnaryLoadRunner(address, frame, parse.GetValue(connections), parse.GetValue(concurrency));

    var warm = await runner.RunAsync(parse.GetValue(warmup), limit);
    var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
    var result = await runner.RunAsync(parse.GetValue(requests), limit);
    // On a shared box the client's own cost per call tells whether it, rather than the server, set the pace.
    var cpuPerCall = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMicroseconds
        / Math.Max(1, result.Succeeded + result.Failed);

    var h = result.LatencyMicros;
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{address} c={parse.GetValue(connections)} m={parse.GetValue(concurrency)}: {result.Succeeded} ok, {result.Failed} errors in {result.Elapsed.TotalSeconds:F2} s"));
    if ((warm.FirstError ?? result.FirstError) is { } error)
    {
        Console.WriteLine($"first error: {error}");
    }
    // One line of key=value pairs for scripts (load/grpc-unary-bench.sh); latencies in microseconds.
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"RESULT ok={result.Succeeded} errors={result.Failed + warm.Failed} seconds={result.Elapsed.TotalSeconds:F3} rps={result.RequestsPerSecond:F0} mean_us={h.Mean:F0} p50_us={h.ValueAtPercentile(50)} p95_us={h.ValueAtPercentile(95)} p99_us={h.ValueAtPercentile(99)} max_us={h.Max} client_cpu_us={cpuPerCall:F1}"));
    return result.Failed + warm.Failed == 0 ? 0 : 1;
});
return await root.Parse(args).InvokeAsync();
