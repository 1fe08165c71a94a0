using FlashDeal.Contracts.Orders.V1;
using FlashDeal.ServiceDefaults;
using Google.Rpc;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;

namespace FlashDeal.Orders.Tests.Invariants;

/// <summary>What one PlaceOrder call answered, as the client saw it.</summary>
public sealed record PlaceOutcome(string UserId, string Key, Order? Order, bool Replayed, StatusCode Code, string? Reason)
{
    public bool Accepted => Order is not null;

    /// <summary>ErrorInfo metadata "why" (COUPON_NOT_APPLICABLE), when the refusal carries it.</summary>
    public string? Why { get; init; }
}

/// <summary>
/// Several order-service replicas (in-process hosts) sharing one PostgreSQL database and one Redis, and a driver that
/// fires many concurrent PlaceOrder calls spread across them.
/// </summary>
public sealed class OrderCluster : IAsyncDisposable
{
    private OrderCluster(OrdersHost[] hosts) => Hosts = hosts;

    public OrdersHost[] Hosts { get; }

    /// <param name="configure">Applied to every replica's builder (e.g. one payment provider shared by all, as in production).</param>
    public static async Task<OrderCluster> StartAsync(int replicas, string postgres, string redis,
        Dictionary<string, string?>? settings = null, Action<WebApplicationBuilder>? configure = null)
    {
        // The first host migrates the schema; the others then start together.
        var first = await OrdersHost.StartAsync(postgres, redis, settings, configure);
        var rest = await Task.WhenAll(Enumerable.Range(1, replicas - 1)
            .Select(_ => OrdersHost.StartAsync(postgres, redis, settings, configure)));
        return new OrderCluster([first, .. rest]);
    }

    public OrderClient Client(int index) => Hosts[index % Hosts.Length].Client;

    /// <summary>Runs every request with at most <paramref name="concurrency"/> in flight, replica i % n for request i.</summary>
    public async Task<List<PlaceOutcome>> PlaceAllAsync(IReadOnlyList<(string UserId, Guid DealId, string Key, int Quantity)> requests,
        int concurrency = 128)
    {
        var gate = new SemaphoreSlim(concurrency);
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = requests.Select(async (r, i) =>
        {
            await start.Task;
            await gate.WaitAsync();
            try
            {
                return await PlaceAsync(Client(i), r.UserId, r.DealId, r.Key, r.Quantity);
            }
            finally
            {
                gate.Release();
            }
        }).ToArray();
        start.SetResult();
        return [.. await Task.WhenAll(calls)];
    }

    public static async Task<PlaceOutcome> PlaceAsync(OrderClient client, string userId, Guid dealId, string key, int quantity)
    {
        try
        {
            var response = await client.PlaceAsync(userId, dealId, key, quantity, TimeSpan.FromSeconds(30));
            return new PlaceOutcome(userId, key, response.Order, response.Replayed, StatusCode.OK, null);
        }
        catch (RpcException e)
        {
            return new PlaceOutcome(userId, key, null, false, e.StatusCode, e.GetDetail<ErrorInfo>()?.Reason);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var host in Hosts)
        {
            await host.DisposeAsync();
        }
    }
}
