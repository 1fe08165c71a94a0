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

namespace FlashDeal.Security.Tests;

/// <summary>A real HTTP server on 127.0.0.1 serving a JWKS document, counting fetches; the keys can change mid-test.</summary>
public sealed class JwksServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private volatile IReadOnlyList<SigningKey> _keys;
    private int _fetches;
    private bool _stopped;

    private JwksServer(WebApplication app, IReadOnlyList<SigningKey> keys)
    {
        _app = app;
        _keys = keys;
    }

    public Uri JwksUrl { get; private set; } = null!;

    public int Fetches => Volatile.Read(ref _fetches);

    /// <summary>Called before each response; lets a test hold a fetch open.</summary>
    public Func<Task>? BeforeResponse { get; set; }

    public static async Task<JwksServer> StartAsync(params SigningKey[] keys)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http1));
        var app = builder.Build();
        var server = new JwksServer(app, keys);
        app.MapGet("/.well-known/jwks.json", server.ServeAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.JwksUrl = new Uri(new Uri(address), "/.well-known/jwks.json");
        return server;
    }

    public void Publish(params SigningKey[] keys) => _keys = keys;

    /// <summary>When set, served instead of the keys (for documents with foreign or broken keys).</summary>
    public string? RawJson { get; set; }

    private async Task ServeAsync(HttpContext http)
    {
        Interlocked.Increment(ref _fetches);
        if (BeforeResponse is { } hook)
        {
            await hook();
        }
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(RawJson
            ?? JsonFormatter.Default.Format(new SigningKeySet(_keys, _keys.First(k => k.CanSign).KeyId).ToJwks()));
    }

    /// <summary>Takes the server down: later fetches fail with connection refused.</summary>
    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await _app.StopAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _app.DisposeAsync();
    }
}
