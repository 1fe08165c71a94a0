using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FlashDeal.Contracts.Auth.V1;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.Security;
using FlashDeal.TestInfrastructure;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;

namespace FlashDeal.Catalog.Tests.Infrastructure;

/// <summary>
/// The real catalog service in-process (ServiceTestHost) on a fresh database of the shared PostgreSQL and a flushed
/// shared Redis, validating tokens with keys from a JWKS endpoint as it does in production (auth's role is played by
/// a test signing key), plus helpers to call it over gRPC (the generated client) and REST.
/// </summary>
public class CatalogFixture(PostgresServer postgres, RedisServer redis) : IAsyncLifetime
{
    private const string KeyId = "catalog-tests";
    private static readonly SigningKeySet SigningKeys = new([SigningKey.Generate(KeyId)], KeyId);
    private NpgsqlDataSource? _database;
    private JwksEndpoint? _jwks;
    private ServiceTestHost? _host;
    private Dictionary<string, string?> _settings = [];
    private readonly List<ServiceTestHost> _replicas = [];
    private CatalogService.CatalogServiceClient? _client;

    public RedisServer Redis => redis;

    public ServiceTestHost Host => _host ?? throw new InvalidOperationException("Not started.");

    /// <summary>The generated client on the host's gRPC channel.</summary>
    public CatalogService.CatalogServiceClient Client => _client ?? throw new InvalidOperationException("Not started.");

    /// <summary>The catalog's database, for arranging what the API cannot (moving a deal's window into the past).</summary>
    public NpgsqlDataSource Database => _database ?? throw new InvalidOperationException("Not started.");

    public string AdminToken { get; private set; } = "";

    public string CustomerToken { get; private set; } = "";

    /// <summary>Settings a test class changes (intervals); the defaults keep background work out of the way.</summary>
    protected virtual IReadOnlyDictionary<string, string?> ClassSettings => new Dictionary<string, string?>();

    public async Task InitializeAsync()
    {
        await redis.FlushAllAsync();
        var connectionString = await postgres.CreateDatabaseAsync();
        _database = NpgsqlDataSource.Create(connectionString);
        _jwks = await JwksEndpoint.StartAsync(SigningKeys);
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = connectionString,
            ["ConnectionStrings:Redis"] = redis.ConnectionString,
            ["Auth:JwksUrl"] = _jwks.Url.ToString(),
            ["Catalog:RedisBreakDuration"] = "00:00:01",
            // A busy machine must not turn a slow cache write into a tripped breaker; outages still fail fast.
            ["Catalog:RedisTimeout"] = "00:00:05",
            ["Catalog:WatchPollInterval"] = "00:00:00.050",
            ["Catalog:WatchFallbackPollInterval"] = "00:00:00.200",
            // A test reading a watch expects snapshots; DealWatchHeartbeatTests turn heartbeats up.
            ["Catalog:WatchHeartbeatInterval"] = "01:00:00",
            ["Catalog:WarmInterval"] = "01:00:00",
            ["Catalog:BestSellerBackupInterval"] = "01:00:00",
            ["Catalog:PaidOrdersPollInterval"] = "00:00:00.050",
            ["Catalog:BestSellerViewTtl"] = "00:00:00",
            // Tests change Redis and PostgreSQL behind the catalog's back and read at once; HotDealTests turn it on.
            ["Catalog:LocalReadTtl"] = "00:00:00",
            // Likewise for the in-memory lists and the opening warmer; HotListTests turn them on.
            ["Catalog:HotListRefresh"] = "00:00:00",
            ["Catalog:ProductPageTtl"] = "00:00:00",
            ["Catalog:WarmBefore"] = "00:00:00",
            // Every call comes from 127.0.0.1; RateLimitTests turns the limits on.
            ["RateLimits:Enabled"] = "false",
        };
        foreach (var (key, value) in ClassSettings)
        {
            settings[key] = value;
        }
        _settings = settings;
        _host = await ServiceTestHost.StartAsync(CatalogApp.Build, settings);
        _client = new CatalogService.CatalogServiceClient(_host.Grpc);
        // The catalog's issuer and audience; valid for the whole class however long a busy machine takes.
        var auth = _host.Services.GetRequiredService<IOptions<AuthOptions>>().Value;
        var issuer = new AccessTokenIssuer(SigningKeys, new AuthOptions
        {
            Issuer = auth.Issuer,
            Audience = auth.Audience,
            AccessTokenLifetime = TimeSpan.FromHours(1),
        });
        AdminToken = issuer.Issue("admin-1", "admin@example.com", Role.Admin).Token;
        CustomerToken = issuer.Issue("user-1", "ada@example.com", Role.Customer).Token;
    }

    /// <summary>
    /// Another catalog replica on the same PostgreSQL and Redis, with this class's settings (and <paramref name="overrides"/>);
    /// disposed with it.
    /// </summary>
    public async Task<ServiceTestHost> StartReplicaAsync(IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var settings = new Dictionary<string, string?>(_settings);
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
        var replica = await ServiceTestHost.StartAsync(CatalogApp.Build, settings);
        _replicas.Add(replica);
        return replica;
    }

    public async Task DisposeAsync()
    {
        foreach (var replica in _replicas)
        {
            await replica.DisposeAsync();
        }
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
        if (_jwks is not null)
        {
            await _jwks.DisposeAsync();
        }
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }

    public T Service<T>() where T : notnull => Host.Services.GetRequiredService<T>();

    // gRPC

    public async Task<TResponse> CallAsync<TRequest, TResponse>(CatalogRpc<TRequest, TResponse> method,
        TRequest request, string? token = null)
    {
        using var call = method(Client, request, Options(token));
        return await call;
    }

    public Task<TResponse> AdminAsync<TRequest, TResponse>(CatalogRpc<TRequest, TResponse> method, TRequest request) =>
        CallAsync(method, request, AdminToken);

    public Task<RpcException> FailsAsync<TRequest, TResponse>(CatalogRpc<TRequest, TResponse> method, TRequest request,
        string? token = null) =>
        Assert.ThrowsAsync<RpcException>(() => CallAsync(method, request, token));

    /// <summary>WatchDeal over gRPC as an anonymous caller.</summary>
    public AsyncServerStreamingCall<WatchDealResponse> Watch(string dealId,
        CancellationToken cancellationToken = default) =>
        Client.WatchDeal(new WatchDealRequest { DealId = dealId }, Options(null, cancellationToken));

    /// <summary>GetDeal over gRPC as an anonymous caller, for its trailers.</summary>
    public AsyncUnaryCall<GetDealResponse> GetDealCall(string dealId) =>
        Client.GetDealAsync(new GetDealRequest { DealId = dealId }, Options(null));

    /// <summary>The bearer token (if any) and a deadline generous for a busy machine.</summary>
    public static CallOptions Options(string? token, CancellationToken cancellationToken = default)
    {
        var headers = new Metadata();
        if (token is not null)
        {
            headers.Add("authorization", "Bearer " + token);
        }
        return new CallOptions(headers, DateTime.UtcNow.AddSeconds(60), cancellationToken);
    }

    // REST

    public Task<HttpResponseMessage> RestAsync(HttpMethod method, string path, string? json = null, string? token = null,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead, CancellationToken cancellationToken = default)
    {
        var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return Host.Http.SendAsync(request, completion, cancellationToken);
    }

    public static string Json(IMessage message) => JsonFormatter.Default.Format(message);

    public static async Task<T> ReadAsync<T>(HttpResponseMessage response) where T : class, IMessage<T>, new()
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}");
        return JsonParser.Default.Parse<T>(body);
    }

    /// <summary>The google.rpc.Status JSON of a failed REST call: code, reason and field-violation names.</summary>
    public static async Task<RestError> ReadErrorAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(body);
        var root = json.RootElement;
        string? reason = null;
        var fields = new List<string>();
        foreach (var detail in root.TryGetProperty("details", out var d) ? d.EnumerateArray() : default)
        {
            if (detail.TryGetProperty("reason", out var r))
            {
                reason = r.GetString();
            }
            if (detail.TryGetProperty("fieldViolations", out var violations))
            {
                fields.AddRange(violations.EnumerateArray().Select(v => v.GetProperty("field").GetString()!));
            }
        }
        return new RestError((int)response.StatusCode, root.GetProperty("code").GetInt32(), reason, fields);
    }

    // Arrangements

    public async Task<Product> CreateProductAsync(string? name = null, string category = "", long priceCents = 19_999,
        string description = "")
    {
        var response = await AdminAsync(CatalogMethods.CreateProduct, new CreateProductRequest
        {
            Product = new Product
            {
                Name = name ?? "Product " + Guid.NewGuid().ToString("N")[..8],
                Description = description,
                Category = category,
                ListPriceCents = priceCents,
                Currency = "EUR",
            },
        });
        return response.Product;
    }

    public static Deal NewDeal(Product product, TimeSpan startsIn, TimeSpan lasts, int stock = 10, int perUserLimit = 2)
    {
        var start = DateTime.UtcNow + startsIn;
        return new Deal
        {
            ProductId = product.ProductId,
            Title = "Drop: " + product.Name,
            DealPriceCents = 9_999,
            Stock = stock,
            PerUserLimit = perUserLimit,
            StartTime = Timestamp.FromDateTime(start),
            EndTime = Timestamp.FromDateTime(start + lasts),
        };
    }

    public async Task<Deal> CreateDealAsync(Product product, TimeSpan startsIn, TimeSpan lasts, int stock = 10,
        int perUserLimit = 2) =>
        (await AdminAsync(CatalogMethods.CreateDeal,
            new CreateDealRequest { Deal = NewDeal(product, startsIn, lasts, stock, perUserLimit) })).Deal;

    /// <summary>Moves a deal's window (as if time had passed) and drops its cached copy.</summary>
    public async Task MoveDealWindowAsync(string dealId, DateTime start, DateTime end)
    {
        await using var command = Database.CreateCommand(
            "UPDATE catalog.deals SET start_time = @start, end_time = @end WHERE deal_id = @id");
        command.Parameters.AddWithValue("id", Guid.Parse(dealId));
        command.Parameters.AddWithValue("start", start);
        command.Parameters.AddWithValue("end", end);
        Assert.Equal(1, await command.ExecuteNonQueryAsync());
        await redis.ExecuteAsync("DEL", $"catalog:deal:{dealId}");
    }

    public Task<string> RedisAsync(params string[] command) => redis.ExecuteAsync(command);
}

public sealed record RestError(int HttpStatus, int Code, string? Reason, List<string> Fields);
