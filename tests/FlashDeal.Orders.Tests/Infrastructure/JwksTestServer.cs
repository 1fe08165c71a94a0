using System.Net;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FlashDeal.Orders.Tests;

/// <summary>Publishes the test signing key as auth would (GET /.well-known/jwks.json), for orders running as a process.</summary>
public sealed class JwksTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private JwksTestServer(WebApplication app, Uri jwksUrl)
    {
        _app = app;
        JwksUrl = jwksUrl;
    }

    public Uri JwksUrl { get; }

    public static async Task<JwksTestServer> StartAsync(TestTokens tokens)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http1));
        var app = builder.Build();
        var document = JsonFormatter.Default.Format(tokens.Keys.ToJwks());
        app.MapGet("/.well-known/jwks.json", () => Results.Text(document, "application/json"));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new JwksTestServer(app, new Uri(new Uri(address), "/.well-known/jwks.json"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
