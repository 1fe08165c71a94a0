using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace FlashDeal.ServiceDefaults;

/// <summary>
/// The response body between the app and ASP.NET Core's compression body (<see cref="RestCompression"/>): it holds
/// the first bytes written, in one pooled buffer of the threshold's size, and neither flushes nor StartAsync release them. Once the
/// bytes reach the threshold they go on, and everything after them, with no length known: the compression body
/// compresses. A body that ends below the threshold goes on at the end with its Content-Length set, which the size-gated
/// provider reads as "send as it is". A body whose Content-Length the app set is not held (the provider decides from it).
/// </summary>
internal sealed class CompressionGate(HttpContext http, IHttpResponseBodyFeature inner, int threshold)
    : Stream, IHttpResponseBodyFeature
{
    private byte[]? _held;
    private int _count;
    private bool _open;
    private PipeWriter? _writer;

    public static async Task RunAsync(HttpContext http, RequestDelegate next, int threshold)
    {
        var inner = http.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        var gate = new CompressionGate(http, inner, threshold);
        http.Features.Set<IHttpResponseBodyFeature>(gate);
        try
        {
            await next(http);
            await gate.ReleaseAsync();
        }
        finally
        {
            http.Features.Set(inner);
            gate.ReturnBuffer();
        }
    }

    Stream IHttpResponseBodyFeature.Stream => this;

    public PipeWriter Writer => _writer ??= PipeWriter.Create(this, new StreamPipeWriterOptions(leaveOpen: true));

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_open)
        {
            return inner.Stream.WriteAsync(buffer, cancellationToken);
        }
        return TryHold(buffer.Span) ? ValueTask.CompletedTask : OpenAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (_open || !TryHold(buffer))
        {
            Open();
            inner.Stream.Write(buffer);
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <summary>Held bytes stay held: a flush must not decide the body's fate (the serializer flushes every answer).</summary>
    public override Task FlushAsync(CancellationToken cancellationToken) =>
        _open ? inner.Stream.FlushAsync(cancellationToken) : Task.CompletedTask;

    public override void Flush()
    {
        if (_open)
        {
            inner.Stream.Flush();
        }
    }

    /// <summary>
    /// Not before the body's fate is known: HttpResponse.WriteAsync(string) starts every answer first. The headers go
    /// with the held bytes. (A REST answer that must reach the client early disables buffering; server streams never
    /// pass this gate.)
    /// </summary>
    public Task StartAsync(CancellationToken cancellationToken = default) =>
        _open ? inner.StartAsync(cancellationToken) : Task.CompletedTask;

    public async Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default)
    {
        await OpenAsync(ReadOnlyMemory<byte>.Empty, cancellationToken);
        await inner.SendFileAsync(path, offset, count, cancellationToken);
    }

    public void DisableBuffering()
    {
        // Whatever is held already goes on with the next write or at the end.
        _open |= _count == 0;
        inner.DisableBuffering();
    }

    public async Task CompleteAsync()
    {
        await ReleaseAsync();
        await inner.CompleteAsync();
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>Keeps the bytes when they stay under the threshold; false when they must go on now.</summary>
    private bool TryHold(ReadOnlySpan<byte> buffer)
    {
        if (_count + buffer.Length >= threshold || (_count == 0 && http.Response.ContentLength is not null))
        {
            return false;
        }
        _held ??= ArrayPool<byte>.Shared.Rent(threshold);
        buffer.CopyTo(_held.AsSpan(_count));
        _count += buffer.Length;
        return true;
    }

    private async ValueTask OpenAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        if (!_open)
        {
            _open = true;
            if (_count > 0)
            {
                await inner.Stream.WriteAsync(_held.AsMemory(0, _count), cancellationToken);
                _count = 0;
            }
        }
        if (!buffer.IsEmpty)
        {
            await inner.Stream.WriteAsync(buffer, cancellationToken);
        }
    }

    private void Open()
    {
        if (!_open)
        {
            _open = true;
            if (_count > 0)
            {
                inner.Stream.Write(_held.AsSpan(0, _count));
                _count = 0;
            }
        }
    }

    /// <summary>The body ended: what is still held is under the threshold and goes on as it is, with its length.</summary>
    private async Task ReleaseAsync()
    {
        if (_writer is not null)
        {
            await _writer.CompleteAsync();
        }
        if (_open)
        {
            return;
        }
        _open = true;
        if (_count > 0)
        {
            if (!http.Response.HasStarted)
            {
                http.Response.ContentLength = _count;
            }
            await inner.Stream.WriteAsync(_held.AsMemory(0, _count));
            _count = 0;
        }
    }

    private void ReturnBuffer()
    {
        if (_held is not null)
        {
            ArrayPool<byte>.Shared.Return(_held);
            _held = null;
        }
    }
}
