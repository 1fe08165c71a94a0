using System.Net;
using FlashDeal.Bench.Ceiling;
using FlashDeal.Contracts.Catalog.V1;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

// dotnet FlashDeal.Bench.Ceiling.dll --path /flashdeal.catalog.v1.CatalogService/GetDeal --reply reply.bin [--port 0] [--grpc]
// The reply file holds the gRPC response body (one length-prefixed message) exactly as the real service sent it.
// Without --grpc each call drains the request, writes those bytes and grpc-status 0: no parsing, no call context, no
// interceptors. With --grpc the same Kestrel serves CatalogService through AddGrpc() and the generated base class,
// GetDeal returning the parsed reply: what the gRPC framework costs before FlashDeal adds anything.
var path = Arg("--path") ?? throw new ArgumentException("--path /package.Service/Method is required");
var reply = await File.ReadAllBytesAsync(Arg("--reply") ?? throw new ArgumentException("--reply FILE is required"));
var port = int.Parse(Arg("--port") ?? "0");
var framework = args.Contains("--grpc");

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    kestrel.Limits.Http2.MaxStreamsPerConnection = 1000;
    kestrel.Listen(IPAddress.Loopback, port, o => o.Protocols = HttpProtocols.Http2);
});
if (framework)
{
    builder.Services.AddGrpc();
    builder.Services.AddSingleton(GetDealResponse.Parser.ParseFrom(reply.AsSpan(5)));
}

var app = builder.Build();
if (framework)
{
    app.MapGrpcService<CannedCatalog>();
}
else
{
    app.MapPost(path, async context =>
    {
        var body = context.Request.BodyReader;
        while (true)
        {
            var read = await body.ReadAsync(context.RequestAborted);
            body.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted)
            {
                break;
            }
        }
        context.Response.ContentType = "application/grpc";
        await context.Response.BodyWriter.WriteAsync(reply, context.RequestAborted);
        context.Response.AppendTrailer("grpc-status", "0");
    });
}

await app.StartAsync();
Console.WriteLine($"gRPC {app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()}");
await app.WaitForShutdownAsync();

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
