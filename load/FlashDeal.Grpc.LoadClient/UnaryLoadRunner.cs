using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using FlashDeal.Load;

namespace FlashDeal.Grpc.LoadClient;

public sealed record LoadResult(long Succeeded, long Failed, TimeSpan Elapsed, LatencyHistogram LatencyMicros,
    string? FirstError)
{
    public double RequestsPerSecond => (Succeeded + Failed) / Elapsed.TotalSeconds;
}

/// <summary>
/// Sends the same unary gRPC request frame from <c>concurrency</c> workers, each waiting for its reply before its next
/// call (closed loop), spread over exactly <c>connections</c> HTTP/2 connections (one handler each).
/// </summary>
public sealed class UnaryLoadRunner : IDisposable
{
    private readonly Uri _address;
    private readonly byte[] _requestFrame;
    private readonly int _concurrency;
    private readonly HttpMessageInvoker[] _connections;
    private long _remaining;

    public UnaryLoadRunner(Uri address, byte[] requestFrame, int connections, int concurrency)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(connections, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(concurrency, connections);
        _address = address;
        _requestFrame = requestFrame;
        _concurrency = concurrency;
        _connections = Enumerable.Range(0, connections)
            .Select(_ => new HttpMessageInvoker(new SocketsHttpHandler
            {
                // One connection per handler, so the worker-to-handler split fixes the connection count.
                EnableMultipleHttp2Connections = false,
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                UseProxy = false,
                AllowAutoRedirect = false,
            }))
            .ToArray();
    }

    /// <summary>Runs until <paramref name="requests"/> calls are done or <paramref name="timeLimit"/> passes.</summary>
    public async Task<LoadResult> RunAsync(long requests, TimeSpan timeLimit)
    {
        _remaining = requests;
        using var stop = new CancellationTokenSource(timeLimit);
        var workers = new Task<Worker>[_concurrency];
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < _concurrency; i++)
        {
            var worker = new Worker(this, _connections[i % _connections.Length]);
            workers[i] = Task.Run(() => worker.RunAsync(stop.Token));
        }
        await Task.WhenAll(workers);
        var elapsed = Stopwatch.GetElapsedTime(started);

        var latency = new LatencyHistogram();
        long succeeded = 0, failed = 0;
        string? firstError = null;
        foreach (var worker in workers.Select(w => w.Result))
        {
            latency.Merge(worker.Latency);
            succeeded += worker.Succeeded;
            failed += worker.Failed;
            firstError ??= worker.FirstError;
        }
        return new LoadResult(succeeded, failed, elapsed, latency, firstError);
    }

    public void Dispose()
    {
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }
    }

    private bool TryTakeRequest() => Interlocked.Decrement(ref _remaining) >= 0;

    private sealed class Worker(UnaryLoadRunner runner, HttpMessageInvoker connection)
    {
        private readonly byte[] _buffer = new byte[64 * 1024];

        public LatencyHistogram Latency { get; } = new();

        public long Succeeded { get; private set; }

        public long Failed { get; private set; }

        public string? FirstError { get; private set; }

        public async Task<Worker> RunAsync(CancellationToken stop)
        {
            while (!stop.IsCancellationRequested && runner.TryTakeRequest())
            {
                var started = Stopwatch.GetTimestamp();
                string? error;
                try
                {
                    error = await CallAsync(stop);
                }
                catch (Exception) when (stop.IsCancellationRequested)
                {
                    break; // cut by the time limit: neither a success nor an error
                }
                catch (Exception e)
                {
                    error = $"{e.GetType().Name}: {e.Message}";
                }
                Latency.Record((long)Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                if (error is null)
                {
                    Succeeded++;
                }
                else
                {
                    Failed++;
                    FirstError ??= error;
                }
            }
            return this;
        }

        /// <summary>One call; null when it ended with exactly one reply frame and grpc-status 0, else what went wrong.</summary>
        private async Task<string?> CallAsync(CancellationToken stop)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, runner._address)
            {
                Version = HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
                Content = new ByteArrayContent(runner._requestFrame),
            };
            request.Headers.TryAddWithoutValidation("te", "trailers");
            request.Content.Headers.TryAddWithoutValidation("content-type", "application/grpc");

            using var response = await connection.SendAsync(request, stop);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return $"HTTP {(int)response.StatusCode}";
            }
            var length = 0;
            await using (var body = await response.Content.ReadAsStreamAsync(stop))
            {
                int read;
                while ((read = await body.ReadAsync(_buffer.AsMemory(length), stop)) > 0)
                {
                    length += read;
                    if (length == _buffer.Length)
                    {
                        return "reply larger than the read buffer";
                    }
                }
            }
            // Trailers fill in once the body is read to its end; a trailers-only reply has the status in the headers.
            var status = response.TrailingHeaders.TryGetValues("grpc-status", out var values)
                || response.Headers.TryGetValues("grpc-status", out values)
                ? values.FirstOrDefault()
                : null;
            if (status != "0")
            {
                return status is null ? "no grpc-status" : $"grpc-status {status}";
            }
            if (length < 5 || BinaryPrimitives.ReadUInt32BigEndian(_buffer.AsSpan(1)) != length - 5)
            {
                return $"reply is not exactly one message frame ({length} bytes)";
            }
            return null;
        }
    }
}
