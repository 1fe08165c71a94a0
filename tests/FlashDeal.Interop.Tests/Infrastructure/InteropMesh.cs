using System.Security.Cryptography;
using FlashDeal.Auth;
using FlashDeal.Auth.Accounts;
using FlashDeal.Catalog;
using FlashDeal.Contracts.Auth.V1;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Orders;
using FlashDeal.TestInfrastructure;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace FlashDeal.Interop.Tests.Infrastructure;

/// <summary>
/// The real services for the independent clients: PostgreSQL, Redis, auth, catalog and orders in-process
/// (ServiceTestHost; catalog and orders fetch auth's JWKS like in production), each with the
/// <see cref="InteropCallRecorder"/> in front. Seeded through the public APIs: a LIVE deal, an UPCOMING deal, enough
/// products that a page of them is well above the 1 KiB compression threshold, and a signed-up customer. It also
/// writes the schema file the clients load.
/// </summary>
public sealed class InteropMesh : IAsyncLifetime
{
    public const string AdminEmail = "interop-admin@flashdeal.test";
    public const string AdminPassword = "interop-admin-password";
    public const string CustomerEmail = "interop-customer@flashdeal.test";
    public const string CustomerPassword = "interop-customer-password";

    /// <summary>Products besides the live deal's and the upcoming deal's.</summary>
    public const int ExtraProducts = 40;

    public const int LiveDealStock = 1000;

    /// <summary>
    /// Every product's description repeats this phrase; the gzip case lists products with it as the query. A request
    /// gzip can shrink is one grpcio really compresses (C-core sends a message uncompressed when gzip would not make it
    /// smaller, as for a bare page_size), and the query still matches every product.
    /// </summary>
    public static readonly string ProductQuery = string.Concat(Enumerable.Repeat(Phrase, 7)).Trim();

    private const string Phrase = "Sturdy, quiet, and on sale. ";
    private static readonly string Description = string.Concat(Enumerable.Repeat(Phrase, 8));

    private static readonly TimeSpan SetupDeadline = TimeSpan.FromSeconds(60);
    private readonly PostgresServer _postgres = new();
    private readonly RedisServer _redis = new();
    private readonly List<ServiceTestHost> _hosts = [];
    private string? _directory;

    public InteropCallRecorder Recorder { get; } = new();

    public ServiceTestHost Auth { get; private set; } = null!;

    public ServiceTestHost Catalog { get; private set; } = null!;

    public ServiceTestHost Orders { get; private set; } = null!;

    /// <summary>The binary FileDescriptorSet (<see cref="InteropSchema"/>) the clients load.</summary>
    public string SchemaFile { get; private set; } = "";

    /// <summary>Holds the schema file and the clients' configuration files.</summary>
    public string WorkDirectory => _directory ?? throw new InvalidOperationException("Not started.");

    public Deal LiveDeal { get; private set; } = null!;

    public Deal UpcomingDeal { get; private set; } = null!;

    /// <summary>A live deal whose one unit the admin bought during seeding: every other buyer is refused SOLD_OUT.</summary>
    public Deal SoldOutDeal { get; private set; } = null!;

    /// <summary>How many products ListProducts returns (all of them fit on one page of 100).</summary>
    public int ProductCount { get; private set; }

    public string CustomerToken { get; private set; } = "";

    public async Task InitializeAsync()
    {
        _directory = Directory.CreateTempSubdirectory("flashdeal-interop-").FullName;
        SchemaFile = Path.Combine(_directory, "flashdeal.binpb");
        await File.WriteAllBytesAsync(SchemaFile, InteropSchema.ToFileDescriptorSet());

        await Task.WhenAll(_postgres.StartAsync(), _redis.StartAsync());
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var shared = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Postgres"] = await _postgres.CreateDatabaseAsync(),
            ["ConnectionStrings:Redis"] = _redis.ConnectionString,
            ["Database:MigrateOnStart"] = "true",
            // The clients use one token for the whole run, however slow the machine.
            ["Auth:AccessTokenLifetime"] = "00:30:00",
            // Every client calls from 127.0.0.1 and the cases are not about limits (the services' tests cover them).
            ["RateLimits:Enabled"] = "false",
        };
        // One after another: each service migrates its own schema in the shared database.
        Auth = await StartAsync(AuthApp.Build, shared, new()
        {
            ["Auth:SigningKeys:Keys:0:KeyId"] = "interop",
            ["Auth:SigningKeys:Keys:0:Pem"] = key.ExportPkcs8PrivateKeyPem(),
            ["Auth:Passwords:Iterations"] = "1000",
            ["Auth:BootstrapAdmin:Email"] = AdminEmail,
            ["Auth:BootstrapAdmin:Password"] = AdminPassword,
        });
        var jwks = new Uri(Auth.RestAddress, "/.well-known/jwks.json").ToString();
        Catalog = await StartAsync(CatalogApp.Build, shared, new()
        {
            ["Auth:JwksUrl"] = jwks,
            ["Catalog:WatchPollInterval"] = "00:00:00.100",
            // The heartbeat case waits for three; watch_deal's clients skip the ones between its snapshots.
            ["Catalog:WatchHeartbeatInterval"] = "00:00:00.300",
            ["Catalog:WarmInterval"] = "01:00:00",
            ["Catalog:BestSellerBackupInterval"] = "01:00:00",
        });
        Orders = await StartAsync(OrdersApp.Build, shared, new() { ["Auth:JwksUrl"] = jwks });
        using var setup = new CancellationTokenSource(SetupDeadline);
        await SeedAsync(setup.Token);
    }

    public async Task DisposeAsync()
    {
        for (var i = _hosts.Count - 1; i >= 0; i--)
        {
            await _hosts[i].DisposeAsync();
        }
        await ((IAsyncLifetime)_redis).DisposeAsync();
        await ((IAsyncLifetime)_postgres).DisposeAsync();
        if (_directory is not null)
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private async Task<ServiceTestHost> StartAsync(
        Func<string[], Action<WebApplicationBuilder>?, WebApplication> build,
        Dictionary<string, string?> shared, Dictionary<string, string?> own)
    {
        var settings = new Dictionary<string, string?>(shared);
        foreach (var (name, value) in own)
        {
            settings[name] = value;
        }
        var host = await ServiceTestHost.StartAsync(build, settings,
            builder => builder.Services.AddSingleton<IStartupFilter>(Recorder));
        _hosts.Add(host);
        return host;
    }

    private async Task SeedAsync(CancellationToken cancellationToken)
    {
        await Auth.Services.GetRequiredService<AdminBootstrap>().Completion.WaitAsync(cancellationToken);
        var auth = new AuthService.AuthServiceClient(Auth.Grpc);
        var admin = await auth.LogInAsync(new LogInRequest { Email = AdminEmail, Password = AdminPassword },
            cancellationToken: cancellationToken);
        var asAdmin = new Metadata { { "authorization", "Bearer " + admin.Token.AccessToken } };
        var catalog = new CatalogService.CatalogServiceClient(Catalog.Grpc);

        async Task<Product> CreateProductAsync(string name, string description) =>
            (await catalog.CreateProductAsync(new CreateProductRequest
            {
                Product = new Product
                {
                    Name = name,
                    Description = description,
                    Category = "interop",
                    ListPriceCents = 19_999,
                    Currency = "EUR",
                },
            }, asAdmin, cancellationToken: cancellationToken)).Product;

        async Task<Deal> CreateDealAsync(Product product, DateTime start, int stock, int perUserLimit) =>
            (await catalog.CreateDealAsync(new CreateDealRequest
            {
                Deal = new Deal
                {
                    ProductId = product.ProductId,
                    Title = "Interop drop: " + product.Name,
                    DealPriceCents = 9_999,
                    Stock = stock,
                    PerUserLimit = perUserLimit,
                    StartTime = Timestamp.FromDateTime(start),
                    EndTime = Timestamp.FromDateTime(start + TimeSpan.FromHours(2)),
                },
            }, asAdmin, cancellationToken: cancellationToken)).Deal;

        // A deal can only be created in the future: the live one opens in a few seconds, while the rest is seeded.
        var liveProduct = await CreateProductAsync("Interop headphones", "Live deal product. " + Description);
        LiveDeal = await CreateDealAsync(liveProduct, DateTime.UtcNow.AddSeconds(5), LiveDealStock, perUserLimit: 100);
        var soldOutProduct = await CreateProductAsync("Interop earbuds", "Sold-out deal product. " + Description);
        SoldOutDeal = await CreateDealAsync(soldOutProduct, DateTime.UtcNow.AddSeconds(5), stock: 1, perUserLimit: 1);
        var upcomingProduct = await CreateProductAsync("Interop speaker", "Upcoming deal product. " + Description);
        UpcomingDeal = await CreateDealAsync(upcomingProduct, DateTime.UtcNow.AddDays(1), stock: 10, perUserLimit: 1);
        for (var i = 0; i < ExtraProducts; i++)
        {
            await CreateProductAsync($"Interop product {i:D2}", $"Product {i:D2} of the interop catalog. " + Description);
        }
        ProductCount = ExtraProducts + 3;

        var customer = await auth.SignUpAsync(new SignUpRequest
        {
            Email = CustomerEmail,
            Password = CustomerPassword,
            DisplayName = "Interop Customer",
        }, cancellationToken: cancellationToken);
        CustomerToken = customer.Token.AccessToken;

        while ((await catalog.GetDealAsync(new GetDealRequest { DealId = SoldOutDeal.DealId },
                   cancellationToken: cancellationToken)).Deal.State != DealState.Live
               || (await catalog.GetDealAsync(new GetDealRequest { DealId = LiveDeal.DealId },
                   cancellationToken: cancellationToken)).Deal.State != DealState.Live)
        {
            await Task.Delay(100, cancellationToken);
        }
        await new OrderService.OrderServiceClient(Orders.Grpc).PlaceOrderAsync(new PlaceOrderRequest
        {
            DealId = SoldOutDeal.DealId,
            Quantity = 1,
            IdempotencyKey = "interop-sell-out",
        }, asAdmin, cancellationToken: cancellationToken);
    }
}

/// <summary>One mesh for the whole run; the client classes run one after another (each is one client process).</summary>
[CollectionDefinition(Name)]
public sealed class InteropCollection : ICollectionFixture<InteropMesh>
{
    public const string Name = "interop";
}
