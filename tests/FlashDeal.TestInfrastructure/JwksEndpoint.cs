using System.Net;
using FlashDeal.Security;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FlashDeal.TestInfrastructure;

/// <summary>
/// Publishes signing keys as the auth service would (GET /.well-known/jwks.json on a free loopback port), so services run
/// as processes by tests and benchmarks accept the tokens those mint.
/// </summary>
public sealed class JwksEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;

    private JwksEndpoint(WebApplication app, Uri jwksUrl)
    {
        _app = app;
        Url = jwksUrl;
    }

    public Uri Url { get; }

    public static async Task<JwksEndpoint> StartAsync(SigningKeySet keys)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http1));
        var app = builder.Build();
        var document = JsonFormatter.Default.Format(keys.ToJwks());
        app.MapGet("/.well-known/jwks.json", () => Results.Text(document, "application/json"));
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new JwksEndpoint(app, new Uri(new Uri(address), "/.well-known/jwks.json"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
