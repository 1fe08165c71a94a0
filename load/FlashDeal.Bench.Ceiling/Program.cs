using System.Net;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

// dotnet FlashDeal.Bench.Ceiling.dll --path /flashdeal.catalog.v1.CatalogService/GetDeal --reply reply.bin [--port 0]
// The reply file holds the gRPC response body (length-prefixed messages) exactly as the real service sent it. Each call
// drains the request, writes those bytes and grpc-status 0: no parsing, no call context, no interceptors.
var path = Arg("--path") ?? throw new ArgumentException("--path /package.Service/Method is required");
var reply = await File.ReadAllBytesAsync(Arg("--reply") ?? throw new ArgumentException("--reply FILE is required"));
var port = int.Parse(Arg("--port") ?? "0");

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    kestrel.Limits.Http2.MaxStreamsPerConnection = 1000;
    kestrel.Listen(IPAddress.Loopback, port, o => o.Protocols = HttpProtocols.Http2);
});

var app = builder.Build();
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

await app.StartAsync();
Console.WriteLine($"gRPC {app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()}");
await app.WaitForShutdownAsync();

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
