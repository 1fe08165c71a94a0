using System.Collections.Concurrent;
using System.Globalization;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace FlashDeal.Interop.Tests.Infrastructure;

/// <summary>
/// What a service received of one call an interop client tagged with <c>x-interop-case: &lt;client&gt;/&lt;case&gt;</c>,
/// and how it answered. The compressed flags are the first byte of the first gRPC message frame in each direction: the
/// proof that a message travelled compressed (grpc-encoding names the algorithm, yet each message may go uncompressed).
/// </summary>
public sealed record RecordedCall(string Client, string Case, string Path, string UserAgent, string? Encoding,
    string? AcceptEncoding, string? Timeout)
{
    public bool? RequestCompressed { get; internal set; }

    public string? ResponseEncoding { get; internal set; }

    public bool? ResponseCompressed { get; internal set; }
}

/// <summary>
/// Records tagged requests as they arrive, in middleware ahead of everything else (authentication, gRPC), so calls
/// refused before their handler (unauthenticated, oversized) are seen too. Added to each service through an
/// <see cref="IStartupFilter"/>.
/// </summary>
public sealed class InteropCallRecorder : IStartupFilter
{
    public const string CaseHeader = "x-interop-case";

    private readonly ConcurrentQueue<RecordedCall> _calls = new();

    public IReadOnlyList<RecordedCall> For(string client) => _calls.Where(c => c.Client == client).ToArray();

    public IReadOnlyList<RecordedCall> For(string client, string interopCase) =>
        _calls.Where(c => c.Client == client && c.Case == interopCase).ToArray();

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use((http, nextMiddleware) =>
        {
            Record(http);
            return nextMiddleware(http);
        });
        next(app);
    };

    /// <summary>Parses a grpc-timeout value ("1000m", "999999u", "1S"…).</summary>
    public static bool TryParseTimeout(string? value, out TimeSpan timeout)
    {
        timeout = default;
        if (value is not { Length: >= 2 and <= 9 }
            || !long.TryParse(value[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out var amount))
        {
            return false;
        }
        long? ticks = value[^1] switch
        {
            'H' => amount * TimeSpan.TicksPerHour,
            'M' => amount * TimeSpan.TicksPerMinute,
            'S' => amount * TimeSpan.TicksPerSecond,
            'm' => amount * TimeSpan.TicksPerMillisecond,
            'u' => amount * 10,
            'n' => amount / 100,
            _ => null,
        };
        timeout = TimeSpan.FromTicks(ticks ?? 0);
        return ticks is not null;
    }

    private void Record(HttpContext http)
    {
        var request = http.Request;
        var tag = request.Headers[CaseHeader].ToString();
        var slash = tag.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0)
        {
            return;
        }
        var call = new RecordedCall(tag[..slash], tag[(slash + 1)..], request.Path.Value ?? "",
            request.Headers.UserAgent.ToString(), NullIfEmpty(request.Headers["grpc-encoding"]),
            NullIfEmpty(request.Headers["grpc-accept-encoding"]), NullIfEmpty(request.Headers["grpc-timeout"]));
        _calls.Enqueue(call);

        var requestBody = http.Features.GetRequiredFeature<IRequestBodyPipeFeature>();
        http.Features.Set<IRequestBodyPipeFeature>(
            new RequestBody(new FirstByteReader(requestBody.Reader, b => call.RequestCompressed = b == 1)));
        var responseBody = http.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        http.Features.Set<IHttpResponseBodyFeature>(
            new ResponseBody(responseBody, new FirstByteWriter(responseBody.Writer, b => call.ResponseCompressed = b == 1)));
        http.Response.OnStarting(() =>
        {
            call.ResponseEncoding = NullIfEmpty(http.Response.Headers["grpc-encoding"]);
            return Task.CompletedTask;
        });
    }

    private static string? NullIfEmpty(Microsoft.Extensions.Primitives.StringValues value) =>
        value.Count == 0 || value.ToString().Length == 0 ? null : value.ToString();

    private sealed class RequestBody(PipeReader reader) : IRequestBodyPipeFeature
    {
        public PipeReader Reader => reader;
    }

    private sealed class ResponseBody(IHttpResponseBodyFeature inner, PipeWriter writer) : IHttpResponseBodyFeature
    {
        public Stream Stream => inner.Stream;
        public PipeWriter Writer => writer;
        public void DisableBuffering() => inner.DisableBuffering();
        public Task StartAsync(CancellationToken cancellationToken = default) => inner.StartAsync(cancellationToken);
        public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) =>
            inner.SendFileAsync(path, offset, count, cancellationToken);
        public Task CompleteAsync() => inner.CompleteAsync();
    }

    /// <summary>Passes reads through; reports the first byte of the body (a gRPC frame's compressed flag).</summary>
    private sealed class FirstByteReader(PipeReader inner, Action<byte> first) : PipeReader
    {
        private bool _seen;

        public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) =>
            Peek(await inner.ReadAsync(cancellationToken).ConfigureAwait(false));

        public override bool TryRead(out ReadResult result)
        {
            if (!inner.TryRead(out result))
            {
                return false;
            }
            Peek(result);
            return true;
        }

        public override void AdvanceTo(SequencePosition consumed) => inner.AdvanceTo(consumed);
        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) =>
            inner.AdvanceTo(consumed, examined);
        public override void CancelPendingRead() => inner.CancelPendingRead();
        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        private ReadResult Peek(ReadResult result)
        {
            if (!_seen && !result.Buffer.IsEmpty)
            {
                _seen = true;
                first(result.Buffer.FirstSpan[0]);
            }
            return result;
        }
    }

    /// <summary>Passes writes through; reports the first byte written (a gRPC frame's compressed flag).</summary>
    private sealed class FirstByteWriter(PipeWriter inner, Action<byte> first) : PipeWriter
    {
        private Memory<byte> _lastMemory;
        private bool _seen;

        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;
        public override long UnflushedBytes => inner.UnflushedBytes;

        public override Memory<byte> GetMemory(int sizeHint = 0) => _lastMemory = inner.GetMemory(sizeHint);
        public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

        public override void Advance(int bytes)
        {
            if (!_seen && bytes > 0)
            {
                _seen = true;
                first(_lastMemory.Span[0]);
            }
            inner.Advance(bytes);
        }

        public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source,
            CancellationToken cancellationToken = default)
        {
            if (!_seen && !source.IsEmpty)
            {
                _seen = true;
                first(source.Span[0]);
            }
            return inner.WriteAsync(source, cancellationToken);
        }

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) =>
            inner.FlushAsync(cancellationToken);
        public override void CancelPendingFlush() => inner.CancelPendingFlush();
        public override void Complete(Exception? exception = null) => inner.Complete(exception);
        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);
    }
}
