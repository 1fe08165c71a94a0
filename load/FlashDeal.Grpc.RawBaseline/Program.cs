using System.Net;
using FlashDeal.Grpc.RawBaseline;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

// Same Kestrel setup as the Echo test server (slim builder, h2c only, 1000 streams per connection, Warning logs), but the
// Echo route drains the request and writes a precomputed reply: no parsing, no call context, no interceptors.
var port = ArgValue("--port", "0");
var message = ArgValue("--message", "hello flashdeal");

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.Limits.Http2.MaxStreamsPerConnection = 1000;
    kestrel.Listen(IPAddress.Loopback, int.Parse(port), o => o.Protocols = HttpProtocols.Http2);
});

var app = builder.Build();
var reply = CannedEchoReply.Frame(message, sequence: 1, peer: "ipv4:127.0.0.1:50000");
app.MapPost("/flashdeal.testing.v1.EchoService/Echo", async context =>
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
var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
Console.WriteLine($"gRPC {address}");
await app.WaitForShutdownAsync();

string ArgValue(string name, string fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}
