using FlashDeal.Grpc.Testing;
using Microsoft.Extensions.Logging;

// Serves the Echo test service until stopped: used by interop scripts and load/ benchmarks.
var grpcPort = ArgValue("--grpc-port", 50051);
var restPort = ArgValue("--rest-port", 8080);
await using var host = await EchoServerHost.StartAsync(grpcPort: grpcPort, restPort: restPort, logLevel: LogLevel.Warning);
Console.WriteLine($"gRPC {host.GrpcAddress} REST {host.RestAddress}");
var stop = new TaskCompletionSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.TrySetResult();
};
AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.TrySetResult();
// The host handles SIGTERM itself (stops, then waits for Main to return), so ProcessExit alone would never fire.
host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() => stop.TrySetResult());
await stop.Task;

int ArgValue(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out var v) ? v : fallback;
}
