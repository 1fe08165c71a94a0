using System.Diagnostics;
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
/// A closed loop of <c>concurrency</c> workers, each taking the next buyer and sending one PlaceOrder (quantity 1, one
/// key per buyer) to a deal: buyer <c>i</c> to deal <c>i mod deals</c>, so several deals are bought from at once. Every
/// call's latency goes into a per-worker histogram, merged at the end.
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
        var next = -1;
        long accepted = 0, soldOut = 0, errors = 0;
        long sellOutTicks = 0;
        string? firstError = null;
        var acceptedIds = new System.Collections.Concurrent.ConcurrentBag<string>();
        var histograms = Enumerable.Range(0, concurrency).Select(_ => new LatencyHistogram()).ToArray();
        var cpuBefore = serverCpu();
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(histograms.Select(async histogram =>
        {
            await Task.Yield();
            int buyer;
            while ((buyer = Interlocked.Increment(ref next)) < buyers)
            {
                var request = new PlaceOrderRequest { DealId = dealIds[buyer % dealIds.Length], IdempotencyKey = "k", Quantity = 1 };
                var headers = new Metadata { { "authorization", bearers[buyer] } };
                var started = Stopwatch.GetTimestamp();
                try
                {
                    var response = await _orders.PlaceOrderAsync(request, headers, DateTime.UtcNow.AddSeconds(30));
                    acceptedIds.Add(response.Order.OrderId);
                    if (Interlocked.Increment(ref accepted) == stock)
                    {
                        Interlocked.Exchange(ref sellOutTicks, clock.Elapsed.Ticks);
                    }
                }
                catch (RpcException e) when (e.GetDetail<ErrorInfo>()?.Reason == "SOLD_OUT")
                {
                    Interlocked.Increment(ref soldOut);
                }
                catch (RpcException e)
                {
                    Interlocked.Increment(ref errors);
                    Interlocked.CompareExchange(ref firstError, $"{e.StatusCode}: {e.Status.Detail}", null);
                }
                histogram.Record((long)Stopwatch.GetElapsedTime(started).TotalMicroseconds);
            }
        }));
        clock.Stop();
        var cpu = serverCpu() - cpuBefore;
        var latency = new LatencyHistogram();
        foreach (var h in histograms)
        {
            latency.Merge(h);
        }
        return new PhaseResult(target, clock.Elapsed, sellOutTicks == 0 ? null : TimeSpan.FromTicks(sellOutTicks),
            accepted, soldOut, errors, firstError, latency, cpu.TotalMicroseconds / Math.Max(1, buyers), [.. acceptedIds]);
    }
}
