using FlashDeal.Grpc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// Serves the Echo test service until stopped: used by interop scripts and load/ benchmarks.
// Ports: arguments, else the variables the Helm chart gives every service (k8s/smoke runs this image in a service's place).
var grpcPort = ArgValue("--grpc-port", EnvValue("Service__GrpcPort", 50051));
var restPort = ArgValue("--rest-port", EnvValue("Service__RestPort", 8080));
await using var host = await EchoServerHost.StartAsync(grpcPort: grpcPort, restPort: restPort, logLevel: LogLevel.Warning);
Console.WriteLine($"gRPC {host.GrpcAddress} REST {host.RestAddress}");
var stop = new TaskCompletionSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.TrySetResult();
};
AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.TrySetResult();
// The host's console lifetime takes SIGINT/SIGTERM itself and only asks the application to stop.
host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() => stop.TrySetResult());
await stop.Task;

int ArgValue(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out var v) ? v : fallback;
}

static int EnvValue(string name, int fallback) =>
    int.TryParse(Environment.GetEnvironmentVariable(name), out var v) ? v : fallback;
