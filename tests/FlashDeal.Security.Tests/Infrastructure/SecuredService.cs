using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Orders;
using FlashDeal.ServiceDefaults;
using FlashDeal.TestInfrastructure;
using Google.Rpc;
using Grpc.Core;

namespace FlashDeal.Security.Tests;

/// <summary>
/// A real service (orders, on real PostgreSQL and Redis) that validates tokens exactly as in production: JwtBearer,
/// keys from a JWKS served over HTTP by <see cref="JwksServer"/>. Calls go over gRPC (h2c) and REST to a method that
/// needs a user (ListMyOrders).
/// </summary>
public sealed class SecuredService : IAsyncDisposable
{
    public static readonly AuthOptions Options = new() { Issuer = "https://auth.test", Audience = "flashdeal-test" };

    private SecuredService(ServiceTestHost host, JwksServer jwks, ECDsa key)
    {
        Host = host;
        Jwks = jwks;
        Key = key;
        Client = new OrderService.OrderServiceClient(host.Grpc);
    }

    public ServiceTestHost Host { get; }

    public JwksServer Jwks { get; }

    /// <summary>The private half of the published key "key-1".</summary>
    public ECDsa Key { get; }

    public OrderService.OrderServiceClient Client { get; }

    public static async Task<SecuredService> StartAsync(PostgresServer postgres, RedisServer redis, bool jwksUp = true,
        IReadOnlyDictionary<string, string?>? settings = null)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var jwks = await JwksServer.StartAsync(new SigningKey("key-1", key));
        if (!jwksUp)
        {
            await jwks.StopAsync();
        }
        var all = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = await postgres.CreateDatabaseAsync(),
            ["ConnectionStrings:Redis"] = redis.ConnectionString,
            ["Auth:Issuer"] = Options.Issuer,
            ["Auth:Audience"] = Options.Audience,
            ["Auth:JwksUrl"] = jwks.JwksUrl.ToString(),
            ["Auth:JwksMinRefreshInterval"] = "00:00:01",
            ["Auth:JwksFetchTimeout"] = "00:00:02",
            ["RateLimits:Enabled"] = "false",
        };
        foreach (var (name, value) in settings ?? new Dictionary<string, string?>())
        {
            all[name] = value;
        }
        var host = await ServiceTestHost.StartAsync(OrdersApp.Build, all);
        return new SecuredService(host, jwks, key);
    }

    /// <summary>A token signed with <paramref name="key"/> (default: the published key) over changed claims.</summary>
    public string Token(Action<JsonObject>? change = null, string kid = "key-1", ECDsa? key = null, string alg = "ES256",
        Action<JsonObject>? header = null)
    {
        var payload = Jws.Payload(DateTimeOffset.UtcNow, Options);
        change?.Invoke(payload);
        var head = Jws.Header(alg, kid);
        header?.Invoke(head);
        return Jws.SignEs256(head, payload, key ?? Key);
    }

    /// <summary>ListMyOrders over gRPC with this authorization value (null: none).</summary>
    public async Task<Outcome> GrpcAsync(string? authorization)
    {
        var headers = new Metadata();
        if (authorization is not null)
        {
            headers.Add("authorization", authorization);
        }
        try
        {
            await Client.ListMyOrdersAsync(new ListMyOrdersRequest(), headers, DateTime.UtcNow.AddSeconds(30));
            return new Outcome(200, StatusCode.OK, null, "");
        }
        catch (RpcException e)
        {
            return new Outcome(0, e.StatusCode, e.GetDetail<ErrorInfo>()?.Reason, e.Status.Detail);
        }
    }

    /// <summary>GET /v1/orders over REST with this authorization value (null: none).</summary>
    public async Task<Outcome> RestAsync(string? authorization, HttpClient? http = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/orders");
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("authorization", authorization);
        }
        using var response = await (http ?? Host.Http).SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        var json = body.Length > 0 ? JsonDocument.Parse(body).RootElement : default;
        string? reason = null;
        if (json.ValueKind == JsonValueKind.Object && json.TryGetProperty("details", out var details))
        {
            reason = details.EnumerateArray()
                .Where(d => d.GetProperty("@type").GetString() == "type.googleapis.com/google.rpc.ErrorInfo")
                .Select(d => d.GetProperty("reason").GetString()).FirstOrDefault();
        }
        var code = json.ValueKind == JsonValueKind.Object && json.TryGetProperty("code", out var c) ? (StatusCode)c.GetInt32() : StatusCode.OK;
        var message = json.ValueKind == JsonValueKind.Object && json.TryGetProperty("message", out var m) ? m.GetString()! : "";
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return new Outcome((int)response.StatusCode, code, reason, message, response.Headers.WwwAuthenticate.ToString());
    }

    public static AuthenticationHeaderValue Bearer(string token) => new("Bearer", token);

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        await Jwks.DisposeAsync();
        Key.Dispose();
    }
}

/// <summary>What a caller saw: HTTP status (REST), code, ErrorInfo reason, message, WWW-Authenticate (REST).</summary>
public sealed record Outcome(int HttpStatus, StatusCode Code, string? Reason, string Message, string WwwAuthenticate = "");
