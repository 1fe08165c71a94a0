using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Data.Redis;
using FlashDeal.Orders.Lifecycle;
using FlashDeal.Orders.Payments;
using FlashDeal.Orders.Redis;
using FlashDeal.ServiceDefaults;
using FlashDeal.TestInfrastructure;
using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using ConnectionMultiplexer = StackExchange.Redis.ConnectionMultiplexer;
using IDatabase = StackExchange.Redis.IDatabase;

namespace FlashDeal.Orders.Tests.IntegrationTests;

/// <summary>CancelOrder on paid orders (refunds) and the payment reconciliation around the provider.</summary>
[Collection(DataServers.Name)]
public sealed class RefundTests(PostgresDatabase database, RedisServer redis) : FreshRedisTest(redis), IClassFixture<PostgresDatabase>
{
    // Short locks so a lapsed payment or refund is reconciled within a test; the lock must outlast the timeout.
    private static readonly Dictionary<string, string?> FastReconcile = new()
    {
        ["Orders:PayWindow"] = "00:00:02",
        ["Orders:PaymentTimeout"] = "00:00:00.100",
        ["Orders:PaymentLock"] = "00:00:00.300",
        ["Orders:ExpirySweepInterval"] = "00:00:00.050",
        ["Orders:PaymentReconcileInterval"] = "00:00:00.050",
    };

    private OrdersHost _host = null!;

    private IDatabase Redis => Connection.GetDatabase();

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _host = await OrdersHost.StartAsync(database.ConnectionString, Server.ConnectionString);
    }

    public override async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await base.DisposeAsync();
    }

    private static SandboxPaymentProvider Provider(OrdersHost host) =>
        (SandboxPaymentProvider)host.Services.GetRequiredService<IPaymentProvider>();

    private async Task<(TestDeal Deal, Order Order)> PlacePaidAsync(string user, int quantity = 2, int stock = 10)
    {
        var deal = await new TestDeal { Stock = stock }.WriteAsync(Redis);
        var order = (await _host.Client.PlaceAsync(user, deal.DealId, "k", quantity)).Order;
        await _host.Client.PayAsync(user, order.OrderId, "tok_visa");
        return (deal, order);
    }

    [Fact]
    public async Task CancellingAPaidOrderRefundsItOnceAndReturnsItsUnits()
    {
        var (deal, order) = await PlacePaidAsync("rita", quantity: 2);
        Assert.Equal(8, await TestDeal.RemainingAsync(Redis, deal.DealId));

        var refunded = await _host.Client.CancelAsync("rita", order.OrderId);
        var again = await _host.Client.CancelAsync("rita", order.OrderId);

        Assert.Equal(OrderStatus.Refunded, refunded.Status);
        Assert.StartsWith("refund_", refunded.RefundReference);
        Assert.NotNull(refunded.RefundTime);
        Assert.NotEmpty(refunded.PaymentReference);
        Assert.Equal(refunded, again);
        Assert.Equal(10, await TestDeal.RemainingAsync(Redis, deal.DealId));
        Assert.Equal(0, (int)await Redis.HashGetAsync(OrderKeys.Buyers(deal.DealId), "rita"));
        Assert.Equal(refunded.RefundReference, Provider(_host).Refunds[Guid.Parse(order.OrderId)]);
        await Assertions.RefusedAsync(_host.Client.PayAsync("rita", order.OrderId, "tok_visa"), StatusCode.FailedPrecondition,
            "ORDER_REFUNDED");
        await WaitForRowAsync(order.OrderId, ("REFUNDED", true, refunded.RefundReference));
        Assert.Equal(refunded, await _host.Client.GetAsync("rita", order.OrderId));
    }

    [Fact]
    public async Task AnOrderPaidOnOneReplicaIsRefundedOnAnotherThroughTheSharedSandboxLedger()
    {
        // Found through the local mesh: the sandbox kept its charges in each process, so a cancel that reached the other
        // replica failed with a 500 and a reconciliation there would have taken a paid order for unpaid.
        await using var other = await OrdersHost.StartAsync(database.ConnectionString, Server.ConnectionString);
        var (deal, order) = await PlacePaidAsync("rhea");
        var charge = await Provider(other).FindChargeAsync(Guid.Parse(order.OrderId), CancellationToken.None);
        Assert.Equal(order.TotalCents, charge?.AmountCents);

        var refunded = await other.Client.CancelAsync("rhea", order.OrderId);
        var again = await _host.Client.CancelAsync("rhea", order.OrderId);

        Assert.Equal(OrderStatus.Refunded, refunded.Status);
        Assert.Equal(refunded, again);
        Assert.Equal(refunded.RefundReference,
            await Provider(_host).FindRefundAsync(Guid.Parse(order.OrderId), CancellationToken.None));
        Assert.Equal(10, await TestDeal.RemainingAsync(Redis, deal.DealId));
    }

    [Fact]
    public async Task ARefundWithTheProviderDownKeepsTheOrderPaidAndARetryRefundsOnce()
    {
        var (deal, order) = await PlacePaidAsync("rob");
        Provider(_host).RefundsUnavailable = true;

        await Assertions.RefusedAsync(_host.Client.CancelAsync("rob", order.OrderId), StatusCode.Unavailable,
            "REFUND_PROVIDER_UNAVAILABLE");

        Assert.Equal(OrderStatus.Paid, (await _host.Client.GetAsync("rob", order.OrderId)).Status);
        Assert.Equal(8, await TestDeal.RemainingAsync(Redis, deal.DealId));
        Provider(_host).RefundsUnavailable = false;
        var refunded = await _host.Client.CancelAsync("rob", order.OrderId);
        Assert.Equal(OrderStatus.Refunded, refunded.Status);
        Assert.Equal(10, await TestDeal.RemainingAsync(Redis, deal.DealId));
        Assert.Single(Provider(_host).Refunds);
        Assert.Equal(0, await Redis.SortedSetLengthAsync(OrderKeys.Refunding(deal.DealId)));
    }

    [Fact]
    public async Task ARefundAfterTheDealEndedKeepsTheUnitsSoldButReturnsTheBuyersCount()
    {
        var (deal, order) = await PlacePaidAsync("ruth", quantity: 3);
        await Redis.HashSetAsync(DealKeys.Config(deal.DealId), DealConfigFields.EndMs,
            DateTimeOffset.UtcNow.AddSeconds(-1).ToUnixTimeMilliseconds());

        var refunded = await _host.Client.CancelAsync("ruth", order.OrderId);

        Assert.Equal(OrderStatus.Refunded, refunded.Status);
        Assert.Equal(7, await TestDeal.RemainingAsync(Redis, deal.DealId));
        Assert.Equal(0, (int)await Redis.HashGetAsync(OrderKeys.Buyers(deal.DealId), "ruth"));
        await WaitForRowAsync(order.OrderId, ("REFUNDED", false, refunded.RefundReference));
    }

    [Fact]
    public async Task CancellingAPaidOrderOverRestAnswersRefunded()
    {
        var (_, order) = await PlacePaidAsync("rex");
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/orders/{order.OrderId}:cancel")
        {
            Content = JsonContent.Create(new { }),
        };
        request.Headers.Add("authorization", TestTokens.Shared.Bearer("rex"));
        using var response = await _host.Http.SendAsync(request);
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ORDER_STATUS_REFUNDED", json.GetProperty("order").GetProperty("status").GetString());
        Assert.StartsWith("refund_", json.GetProperty("order").GetProperty("refundReference").GetString());
    }

    [Fact]
    public async Task AChargeTakenBeforeACrashIsHonouredAndAnUnchargedPaymentExpires()
    {
        await using var host = await OrdersHost.StartAsync(database.ConnectionString, Server.ConnectionString, FastReconcile);
        var deal = await new TestDeal { Stock = 10 }.WriteAsync(Redis);
        var charged = (await host.Client.PlaceAsync("cara", deal.DealId, "k", 2)).Order;
        var uncharged = (await host.Client.PlaceAsync("cole", deal.DealId, "k", 3)).Order;
        var cancelled = (await host.Client.PlaceAsync("cleo", deal.DealId, "k", 1)).Order;

        // As PayAsync does, then the process dies: the lock is taken and (for two of them) the charge too, nothing after.
        var charge = await CrashAfterChargeAsync(host, deal.DealId, charged, "cara", charge: true);
        await CrashAfterChargeAsync(host, deal.DealId, uncharged, "cole", charge: false);
        var cleoCharge = await CrashAfterChargeAsync(host, deal.DealId, cancelled, "cleo", charge: true);

        // Cancelling with a lapsed lock asks the provider first: charged, so the order is paid and then refunded.
        await Eventually.HoldsAsync(async () => (await Redis.HashGetAsync(OrderKeys.Order(deal.DealId, Guid.Parse(cancelled.OrderId)),
            "paying_until_ms")) is { IsNull: false } until && (long)until < DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 50,
            "cleo's payment lock runs out");
        var refunded = await host.Client.CancelAsync("cleo", cancelled.OrderId);
        Assert.Equal(OrderStatus.Refunded, refunded.Status);
        Assert.Equal(cleoCharge!.Reference, refunded.PaymentReference);

        // Past the deadline, the sweeper asks the provider instead of expiring blindly.
        await Eventually.HoldsAsync(async () => (await host.Client.GetAsync("cole", uncharged.OrderId)).Status == OrderStatus.Expired,
            "the uncharged order expires");
        var paid = await host.Client.GetAsync("cara", charged.OrderId);
        Assert.Equal(OrderStatus.Paid, paid.Status);
        Assert.Equal(charge!.Reference, paid.PaymentReference);
        Assert.Equal(10 - 2, await TestDeal.RemainingAsync(Redis, deal.DealId));
        Assert.Equal(2, (int)await Redis.HashGetAsync(OrderKeys.Buyers(deal.DealId), "cara"));
        await WaitForRowAsync(charged.OrderId, ("PAID", false, null));
        await WaitForRowAsync(uncharged.OrderId, ("EXPIRED", false, null));
        await WaitForRowAsync(cancelled.OrderId, ("REFUNDED", true, refunded.RefundReference));
        Assert.Equal(new[] { Guid.Parse(cancelled.OrderId) }, Provider(host).Refunds.Keys);
    }

    [Fact]
    public async Task AChargeLandingAfterItsOrderExpiredIsRefundedEvenWhenTheFirstRefundFails()
    {
        var gate = new GatedPaymentProvider();
        await using var host = await OrdersHost.StartAsync(database.ConnectionString, Server.ConnectionString, FastReconcile,
            builder => builder.Services.AddSingleton<IPaymentProvider>(gate));
        var deal = await new TestDeal { Stock = 10 }.WriteAsync(Redis);
        var order = (await host.Client.PlaceAsync("lena", deal.DealId, "k", 2)).Order;
        var orderId = Guid.Parse(order.OrderId);

        var paying = Assert.ThrowsAsync<RpcException>(() => host.Client.PayAsync("lena", order.OrderId, GatedPaymentProvider.SlowToken));
        // The charge hangs past the lock and the deadline; the provider has no charge yet, so the order expires.
        await Eventually.HoldsAsync(async () => (await host.Client.GetAsync("lena", order.OrderId)).Status == OrderStatus.Expired,
            "the order expires while its charge hangs");
        gate.Sandbox.RefundsUnavailable = true;
        gate.Release();

        var refused = await paying;
        Assert.Equal("ORDER_EXPIRED", refused.GetDetail<ErrorInfo>()?.Reason);
        Assert.Single(gate.Sandbox.Charges);
        Assert.Empty(gate.Sandbox.Refunds);
        Assert.True(await Redis.SetContainsAsync(OrderKeys.ChargesToRefund, OrderLifecycle.LostCharge(deal.DealId, orderId)));

        gate.Sandbox.RefundsUnavailable = false;
        await Eventually.HoldsAsync(async () => gate.Sandbox.Refunds.ContainsKey(orderId)
            && !await Redis.SetContainsAsync(OrderKeys.ChargesToRefund, OrderLifecycle.LostCharge(deal.DealId, orderId)),
            "the reconciler refunds the lost charge");
        Assert.Equal(10, await TestDeal.RemainingAsync(Redis, deal.DealId));
        Assert.Equal(OrderStatus.Expired, (await host.Client.GetAsync("lena", order.OrderId)).Status);
    }

    [Fact]
    public async Task RefundLocksThatRanOutAreSettledWithTheProvider()
    {
        await using var host = await OrdersHost.StartAsync(database.ConnectionString, Server.ConnectionString, FastReconcile);
        var deal = await new TestDeal { Stock = 10 }.WriteAsync(Redis);
        var settings = Settings(host);
        Order Paid(PlaceOrderResponse placed) => placed.Order;
        var refundedAtProvider = Paid(await host.Client.PlaceAsync("nina", deal.DealId, "k", 2));
        var neverRefunded = Paid(await host.Client.PlaceAsync("nora", deal.DealId, "k", 1));
        await host.Client.PayAsync("nina", refundedAtProvider.OrderId, "tok_visa");
        var paid = await host.Client.PayAsync("nora", neverRefunded.OrderId, "tok_visa");

        // A process died after the provider refunded (nina) and before it even asked (nora): the refund lock is taken,
        // and for nina the provider holds the refund (asked first here, so a busy machine cannot let the lock run out
        // in between; the state is the same).
        var ninaPaid = await host.Client.GetAsync("nina", refundedAtProvider.OrderId);
        var reference = await Provider(host).RefundAsync(new PaymentRefund(Guid.Parse(ninaPaid.OrderId), ninaPaid.PaymentReference,
            ninaPaid.TotalCents, ninaPaid.Currency), CancellationToken.None);
        foreach (var (order, user) in new[] { (refundedAtProvider, "nina"), (neverRefunded, "nora") })
        {
            var begin = await OrderTransitionScript.RunAsync(Redis, deal.DealId, Guid.Parse(order.OrderId),
                TransitionAction.BeginRefund, settings, user);
            Assert.Equal("REFUND", begin.Outcome);
        }

        await Eventually.HoldsAsync(async () => await Redis.SortedSetLengthAsync(OrderKeys.Refunding(deal.DealId)) == 0,
            "the reconciler settles both refund locks");
        var nina = await host.Client.GetAsync("nina", refundedAtProvider.OrderId);
        Assert.Equal((OrderStatus.Refunded, reference), (nina.Status, nina.RefundReference));
        Assert.Equal(paid, await host.Client.GetAsync("nora", neverRefunded.OrderId));
        Assert.Equal(10 - 1, await TestDeal.RemainingAsync(Redis, deal.DealId));
        await WaitForRowAsync(refundedAtProvider.OrderId, ("REFUNDED", true, reference));
    }

    private static OrderTransitionScript.Settings Settings(OrdersHost host)
    {
        var options = host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<OrdersOptions>>().Value;
        return new OrderTransitionScript.Settings(options.PaymentLock, options.FinalOrderRetention, options.DealKeyRetention);
    }

    /// <summary>
    /// What PayAsync leaves when its process dies after the charge (or before it): the payment lock taken, the provider
    /// holding the charge when <paramref name="charge"/>, nothing else. The charge is taken first here, so a busy machine
    /// cannot let the lock run out in between; the state is the same.
    /// </summary>
    private async Task<ChargeStatus?> CrashAfterChargeAsync(OrdersHost host, Guid dealId, Order order, string user, bool charge)
    {
        if (charge)
        {
            await Provider(host).ChargeAsync(new PaymentCharge(Guid.Parse(order.OrderId), order.TotalCents, order.Currency,
                "tok_visa"), CancellationToken.None);
        }
        var tokenHash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("tok_visa")));
        var begin = await OrderTransitionScript.RunAsync(Redis, dealId, Guid.Parse(order.OrderId), TransitionAction.BeginPay,
            Settings(host), user, tokenHash);
        Assert.Equal("PAY", begin.Outcome);
        return await Provider(host).FindChargeAsync(Guid.Parse(order.OrderId), CancellationToken.None);
    }

    private async Task WaitForRowAsync(string orderId, (string Status, bool StockReturned, string? RefundReference) expected)
    {
        (string, bool, string?) row = default;
        await Eventually.HoldsAsync(async () =>
        {
            await using var command = database.DataSource.CreateCommand(
                "SELECT status, coalesce(stock_returned, false), refund_reference FROM orders.orders WHERE order_id = $1");
            command.Parameters.Add(new NpgsqlParameter { Value = Guid.Parse(orderId) });
            await using var reader = await command.ExecuteReaderAsync();
            row = await reader.ReadAsync() ? (reader.GetString(0), reader.GetBoolean(1), reader.IsDBNull(2) ? null : reader.GetString(2)) : default;
            return row == expected;
        }, $"PostgreSQL holds order {orderId} as {expected} (last seen {row})");
    }

    /// <summary>The sandbox, except that a charge with <see cref="SlowToken"/> hangs until released (ignoring the
    /// caller's timeout, like a provider answering late).</summary>
    private sealed class GatedPaymentProvider : IPaymentProvider
    {
        public const string SlowToken = "tok_slow";

        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public SandboxPaymentProvider Sandbox { get; } = new();

        public void Release() => _released.TrySetResult();

        public async Task<PaymentResult> ChargeAsync(PaymentCharge charge, CancellationToken cancellationToken)
        {
            if (charge.PaymentToken == SlowToken)
            {
                await _released.Task;
            }
            return await Sandbox.ChargeAsync(charge, CancellationToken.None);
        }

        public Task<string> RefundAsync(PaymentRefund refund, CancellationToken cancellationToken) =>
            Sandbox.RefundAsync(refund, cancellationToken);

        public Task<ChargeStatus?> FindChargeAsync(Guid orderId, CancellationToken cancellationToken) =>
            Sandbox.FindChargeAsync(orderId, cancellationToken);

        public Task<string?> FindRefundAsync(Guid orderId, CancellationToken cancellationToken) =>
            Sandbox.FindRefundAsync(orderId, cancellationToken);
    }
}
