using FlashDeal.Contracts.Orders.V1;
using FlashDeal.Load;
using FlashDeal.ServiceDefaults;
using Google.Rpc;
using Grpc.Core;
using Grpc.Net.Client;

namespace FlashDeal.Orders.Load;

/// <summary>What one measured phase saw from the client side.</summary>
public sealed record PhaseResult(
    string Target,
    TimeSpan Elapsed,
    TimeSpan? SellOut,
    long Accepted,
    long SoldOut,
    long Errors,
    string? FirstError,
    LatencyHistogram LatencyMicros,
    double ServerCpuMicrosPerCall,
    IReadOnlyCollection<string> AcceptedOrderIds)
{
    public double CallsPerSecond => (Accepted + SoldOut + Errors) / Elapsed.TotalSeconds;
}

/// <summary>
/// A <see cref="ClosedLoop"/> of buyers, each sending one PlaceOrder (quantity 1, one key per buyer) to a deal: buyer
/// <c>i</c> to deal <c>i mod deals</c>, so several deals are bought from at once.
/// </summary>
public sealed class PlaceOrderPhase(GrpcChannel channel, IReadOnlyList<string> bearers)
{
    private readonly OrderService.OrderServiceClient _orders = new(channel);

    public Task<PhaseResult> RunAsync(string target, Guid dealId, int buyers, int stock, int concurrency,
        Func<TimeSpan> serverCpu) => RunAsync(target, [dealId], buyers, stock, concurrency, serverCpu);

    /// <param name="stock">Units of all the deals together (the sell-out time is when that many were accepted).</param>
    public async Task<PhaseResult> RunAsync(string target, IReadOnlyList<Guid> deals, int buyers, int stock, int concurrency,
        Func<TimeSpan> serverCpu)
    {
        var dealIds = deals.Select(d => d.ToString("D")).ToArray();
        long sellOutTicks = 0;
        var acceptedIds = new System.Collections.Concurrent.ConcurrentBag<string>();
        var cpuBefore = serverCpu();
        var loop = await ClosedLoop.RunAsync(buyers, concurrency, async buyer =>
        {
            var request = new PlaceOrderRequest { DealId = dealIds[buyer % dealIds.Length], IdempotencyKey = "k", Quantity = 1 };
            try
            {
                var response = await _orders.PlaceOrderAsync(request, new Metadata { { "authorization", bearers[buyer] } },
                    DateTime.UtcNow.AddSeconds(30));
                acceptedIds.Add(response.Order.OrderId);
                return CallOutcome.Taken;
            }
            catch (RpcException e) when (e.GetDetail<ErrorInfo>()?.Reason == "SOLD_OUT")
            {
                return CallOutcome.Refused;
            }
        }, (accepted, at) =>
        {
            if (accepted == stock)
            {
                Interlocked.Exchange(ref sellOutTicks, at.Ticks);
            }
        });
        var cpu = serverCpu() - cpuBefore;
        return new PhaseResult(target, loop.Elapsed, sellOutTicks == 0 ? null : TimeSpan.FromTicks(sellOutTicks),
            loop.Taken, loop.Refused, loop.Errors, loop.FirstError, loop.LatencyMicros, cpu.TotalMicroseconds / Math.Max(1, buyers),
            [.. acceptedIds]);
    }
}
