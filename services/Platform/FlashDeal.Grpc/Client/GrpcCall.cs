using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using System.Net;
using Google.Protobuf;
using Microsoft.Extensions.Logging;

namespace FlashDeal.Grpc.Client;

/// <summary>What the public call objects need from a call, whatever its request type.</summary>
internal interface IClientCall : IDisposable
{
    Task<Metadata> ResponseHeadersAsync { get; }

    Status GetStatus();

    Metadata GetTrailers();
}

/// <summary>
/// One client call of any kind over HTTP/2: picks an address, sends headers and messages, retries while that is allowed,
/// reads response messages and ends with the status from trailers (or from the headers of a trailers-only response).
/// </summary>
internal sealed class GrpcCall<TRequest, TResponse> : IClientCall
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    private const string UserAgent = "flashdeal-grpc-dotnet/1.0";
    private const string PreviousAttemptsHeader = "grpc-previous-rpc-attempts";
    private const long MaxTimerMilliseconds = uint.MaxValue - 1L;

    private readonly GrpcChannel _channel;
    private readonly Method<TRequest, TResponse> _method;
    private readonly CallOptions _options;
    private readonly DateTime? _deadline;
    private readonly CancellationTokenSource? _deadlineCts;
    private readonly CancellationTokenSource _callCts;
    private readonly CancellationToken _token;
    private readonly ICompressionProvider? _sendCompression;
    private readonly StreamingRequestContent? _requestContent;
    private readonly TaskCompletionSource<Metadata> _headers = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _finished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _gate = new();
    private readonly long _startedAt = Stopwatch.GetTimestamp();
    private Activity? _activity;
    private Task _startTask = Task.CompletedTask;
    private Subchannel? _subchannel;
    private HttpResponseMessage? _response;
    private PipeReader? _reader;
    private ICompressionProvider? _receiveCompression;
    private volatile bool _responseDone;
    private volatile bool _cancelledByUser;
    private volatile bool _requestCompleted;
    private volatile CallEnd? _end;
    private int _readPending;
    private int _writePending;

    public GrpcCall(GrpcChannel channel, Method<TRequest, TResponse> method, CallOptions options)
    {
        _channel = channel;
        _method = method;
        _options = options;
        _sendCompression = FindSendCompression(channel, options.Compression ?? channel.Options.SendCompression);
        if (method.Type is MethodType.ClientStreaming or MethodType.DuplexStreaming)
        {
            _requestContent = new StreamingRequestContent();
        }
        if (options.Deadline is { } deadline && deadline != DateTime.MaxValue)
        {
            _deadline = deadline.Kind == DateTimeKind.Local ? deadline.ToUniversalTime() : deadline;
            var remaining = _deadline.Value - DateTime.UtcNow;
            _deadlineCts = new CancellationTokenSource();
            if (remaining <= TimeSpan.Zero)
            {
                _deadlineCts.Cancel();
            }
            else if (remaining.TotalMilliseconds < MaxTimerMilliseconds)
            {
                _deadlineCts.CancelAfter(remaining);
            }
        }
        _callCts = _deadlineCts is null
            ? CancellationTokenSource.CreateLinkedTokenSource(options.CancellationToken, channel.DisposedToken)
            : CancellationTokenSource.CreateLinkedTokenSource(options.CancellationToken, channel.DisposedToken,
                _deadlineCts.Token);
        _token = _callCts.Token;
    }

    public Task<Metadata> ResponseHeadersAsync => _headers.Task;

    public TResponse Current { get; private set; } = null!;

    public Status GetStatus() =>
        _end?.Status ?? throw new InvalidOperationException("Unable to get the status because the call is not complete.");

    public Metadata GetTrailers() =>
        _end?.Trailers ?? throw new InvalidOperationException("Unable to get the trailers because the call is not complete.");

    public async Task<TResponse> RunUnaryAsync(TRequest request)
    {
        ReadOnlyMemory<byte> frame;
        try
        {
            frame = Serialize(request);
        }
        catch (Exception e)
        {
            throw FailWith(e);
        }
        await StartAsync(() => CreateUnaryContent(frame)).ConfigureAwait(false);
        return await ReadSingleResponseAsync().ConfigureAwait(false);
    }

    public void StartServerStreaming(TRequest request)
    {
        try
        {
            var frame = Serialize(request);
            _startTask = StartAsync(() => CreateUnaryContent(frame));
        }
        catch (Exception e)
        {
            FailWith(e);
        }
    }

    public async Task<TResponse> RunClientStreamingAsync()
    {
        await StartAsync(() => _requestContent!).ConfigureAwait(false);
        return await ReadSingleResponseAsync().ConfigureAwait(false);
    }

    public void StartDuplexStreaming() => _startTask = StartAsync(() => _requestContent!);

    /// <summary>Sends attempts until one gets a streaming response (the call is then committed) or the call ends.</summary>
    private async Task StartAsync(Func<HttpContent> createContent)
    {
        try
        {
            _activity = GrpcTelemetry.StartClientActivity(_method.ServiceName, _method.Name);
            var policy = _requestContent is null && (_options.Idempotent ?? _method.IsIdempotent)
                ? _channel.Options.RetryPolicy
                : null;
            var pool = _channel.Pool;
            var attempt = 0;
            var transparentRetries = 0;
            while (true)
            {
                _token.ThrowIfCancellationRequested();
                attempt++;
                var subchannel = await pool.PickAsync(_options.WaitForReady, _token).ConfigureAwait(false);
                if (await SendAttemptAsync(subchannel, createContent(), attempt).ConfigureAwait(false) is not { } ended)
                {
                    return;
                }
                // A request that never left the client is safe to send elsewhere, idempotent or not (gRPC A6).
                if (ended.ConnectFailed && _requestContent?.HasStarted != true
                    && (_options.WaitForReady || ++transparentRetries <= Math.Max(2, pool.Subchannels.Length)))
                {
                    attempt--;
                    continue;
                }
                if (policy is not null && ShouldRetry(policy, ended.Status, ended.Trailers, attempt, out var delay))
                {
                    _channel.Logger.LogDebug("Retrying {Method} after {Status} in {Delay} ms (attempt {Attempt})",
                        _method.FullName, ended.Status.StatusCode, (long)delay.TotalMilliseconds, attempt + 1);
                    await Task.Delay(delay, _token).ConfigureAwait(false);
                    continue;
                }
                if (ended.Headers is not null)
                {
                    _headers.TrySetResult(ended.Headers);
                }
                var status = ended.Status;
                if (status.StatusCode == StatusCode.OK && _method.Type is MethodType.Unary or MethodType.ClientStreaming)
                {
                    status = NoMessage;
                }
                Finish(status, ended.Trailers);
                return;
            }
        }
        catch (Exception e)
        {
            FailWith(e);
        }
    }

    /// <summary>An attempt that ended without a streaming response: failed, or answered trailers-only.</summary>
    private readonly record struct EndedAttempt(Status Status, Metadata Trailers, Metadata? Headers, bool ConnectFailed);

    /// <summary>One HTTP/2 request. Null when it produced a streaming response (now owned by the call).</summary>
    private async Task<EndedAttempt?> SendAttemptAsync(Subchannel subchannel, HttpContent content, int attempt)
    {
        HttpResponseMessage response;
        try
        {
            response = await subchannel.SendAsync(BuildRequest(subchannel, content, attempt), _token).ConfigureAwait(false);
        }
        catch (Exception e) when (!_token.IsCancellationRequested
            && e is HttpRequestException or IOException or OperationCanceledException)
        {
            subchannel.Release();
            // The subchannel's connect callback already put the address in backoff.
            return new EndedAttempt(GrpcResponse.FromTransportException(e), new Metadata(), null,
                GrpcResponse.IsConnectFailure(e));
        }
        catch
        {
            subchannel.Release();
            throw;
        }
        subchannel.ReportConnected();

        if (GrpcResponse.FromResponseHeaders(response) is { } status)
        {
            var metadata = GrpcResponse.ReadMetadata(response.Headers);
            var isTrailersOnly = response.StatusCode == HttpStatusCode.OK;
            response.Dispose();
            subchannel.Release();
            _responseDone = true;
            return new EndedAttempt(status, metadata, isTrailersOnly ? metadata : null, false);
        }

        lock (_gate)
        {
            if (_end is not null)
            {
                response.Dispose();
                subchannel.Release();
                return null;
            }
            _subchannel = subchannel;
            _response = response;
        }
        var encoding = response.Headers.NonValidated.TryGetValues(GrpcProtocol.EncodingHeader, out var e2)
            ? e2.ToString()
            : null;
        _receiveCompression = _channel.Compression.Find(encoding);
        _reader = PipeReader.Create(await response.Content.ReadAsStreamAsync(_token).ConfigureAwait(false));
        _headers.TrySetResult(GrpcResponse.ReadMetadata(response.Headers));
        return null;
    }

    private bool ShouldRetry(RetryPolicy policy, Status status, Metadata trailers, int attempt, out TimeSpan delay)
    {
        delay = default;
        if (attempt >= policy.EffectiveMaxAttempts || !policy.RetryableStatusCodes.Contains(status.StatusCode))
        {
            return false;
        }
        var pushback = GrpcResponse.ReadRetryPushback(trailers);
        if (pushback == TimeSpan.MinValue)
        {
            return false;
        }
        delay = pushback ?? policy.GetDelay(attempt, Random.Shared);
        return _deadline is not { } deadline || DateTime.UtcNow + delay < deadline;
    }

    private HttpRequestMessage BuildRequest(Subchannel subchannel, HttpContent content, int attempt)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, subchannel.GetUri(_method.FullName))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        var headers = request.Headers;
        headers.Host = _channel.Authority;
        headers.TryAddWithoutValidation("te", "trailers");
        headers.TryAddWithoutValidation("user-agent", UserAgent);
        headers.TryAddWithoutValidation(GrpcProtocol.AcceptEncodingHeader, _channel.AcceptEncoding);
        if (_sendCompression is not null)
        {
            headers.TryAddWithoutValidation(GrpcProtocol.EncodingHeader, _sendCompression.EncodingName);
        }
        if (_deadline is { } deadline)
        {
            headers.TryAddWithoutValidation(GrpcProtocol.TimeoutHeader, GrpcProtocol.FormatTimeout(deadline - DateTime.UtcNow));
        }
        if (attempt > 1)
        {
            headers.TryAddWithoutValidation(PreviousAttemptsHeader, (attempt - 1).ToString(CultureInfo.InvariantCulture));
        }
        if (_options.Headers is { } metadata)
        {
            foreach (var entry in metadata)
            {
                if (!GrpcProtocol.IsReservedHeader(entry.Key))
                {
                    headers.TryAddWithoutValidation(entry.Key,
                        entry.IsBinary ? GrpcProtocol.EncodeBinaryHeader(entry.ValueBytes) : entry.Value);
                }
            }
        }
        return request;
    }

    private static ReadOnlyMemoryContent CreateUnaryContent(ReadOnlyMemory<byte> frame)
    {
        var content = new ReadOnlyMemoryContent(frame);
        content.Headers.TryAddWithoutValidation("Content-Type", GrpcProtocol.ContentType);
        return content;
    }

    private ReadOnlyMemory<byte> Serialize(TRequest message)
    {
        var buffer = new ArrayBufferWriter<byte>();
        GrpcProtocol.WriteFrame(buffer, message, _channel.Options.MaxSendMessageSize, _sendCompression);
        return buffer.WrittenMemory;
    }

    private static ICompressionProvider? FindSendCompression(GrpcChannel channel, string? name)
    {
        if (name is null || name.Equals(GrpcProtocol.IdentityEncoding, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        return channel.Compression.Find(name)
            ?? throw new ArgumentException($"No compression provider is registered for '{name}'.", nameof(name));
    }

    private static readonly Status NoMessage =
        new(StatusCode.Internal, "Failed to deserialize response message: no message was returned.");

    private async Task<TResponse> ReadSingleResponseAsync()
    {
        try
        {
            if (_end is { } end)
            {
                throw end.ToException();
            }
            var message = await ReadMessageAsync().ConfigureAwait(false);
            if (message is not null && await ReadMessageAsync().ConfigureAwait(false) is not null)
            {
                throw new RpcException(StatusCode.Internal,
                    "Received more than one response message for a single-response call.");
            }
            var status = ReadTrailingStatus(out var trailers);
            if (status.StatusCode == StatusCode.OK && message is null)
            {
                status = NoMessage;
            }
            Finish(status, trailers);
            if (status.StatusCode != StatusCode.OK)
            {
                throw new RpcException(status, trailers);
            }
            return message!;
        }
        catch (Exception e)
        {
            throw FailWith(e);
        }
    }

    public async Task<bool> MoveNextAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _readPending, 1) == 1)
        {
            throw new InvalidOperationException("Can't read the next message because the previous read is still in progress.");
        }
        try
        {
            using var registration = RegisterUserCancellation(cancellationToken);
            await _startTask.ConfigureAwait(false);
            if (_end is { } end)
            {
                return end.Status.StatusCode == StatusCode.OK ? false : throw end.ToException();
            }
            var message = await ReadMessageAsync().ConfigureAwait(false);
            if (message is null)
            {
                var status = ReadTrailingStatus(out var trailers);
                Finish(status, trailers);
                return status.StatusCode == StatusCode.OK ? false : throw new RpcException(status, trailers);
            }
            Current = message;
            return true;
        }
        catch (Exception e)
        {
            throw FailWith(e);
        }
        finally
        {
            Volatile.Write(ref _readPending, 0);
        }
    }

    private async ValueTask<TResponse?> ReadMessageAsync()
    {
        var reader = _reader ?? throw new OperationCanceledException();
        var maxSize = _channel.Options.MaxReceiveMessageSize;
        while (true)
        {
            var result = await reader.ReadAsync(_token).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (GrpcProtocol.TryReadFrame(ref buffer, maxSize, out var compressed, out var payload))
            {
                var message = GrpcProtocol.ParsePayload(Method<TRequest, TResponse>.ResponseParser, payload, compressed,
                    _receiveCompression, maxSize);
                reader.AdvanceTo(buffer.Start);
                return message;
            }
            if (result.IsCompleted)
            {
                if (buffer.Length > 0)
                {
                    throw new RpcException(StatusCode.Internal, "Incomplete message at the end of the response stream.");
                }
                reader.AdvanceTo(buffer.End);
                _responseDone = true;
                return null;
            }
            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Status and trailers once the body was read to its end: only then does HttpClient fill TrailingHeaders.</summary>
    private Status ReadTrailingStatus(out Metadata trailers)
    {
        var response = _response ?? throw new OperationCanceledException();
        trailers = GrpcResponse.ReadMetadata(response.TrailingHeaders);
        return GrpcResponse.ReadStatus(response.TrailingHeaders)
            ?? new Status(StatusCode.Internal, "No grpc-status found on response.");
    }

    public async Task WriteAsync(TRequest message, CancellationToken cancellationToken)
    {
        var content = _requestContent!;
        if (_requestCompleted)
        {
            throw new InvalidOperationException("Can't write the message because the request stream is complete.");
        }
        if (Interlocked.Exchange(ref _writePending, 1) == 1)
        {
            throw new InvalidOperationException("Can't write the message because the previous write is in progress.");
        }
        try
        {
            using var registration = RegisterUserCancellation(cancellationToken);
            if (!content.Stream.IsCompleted)
            {
                await Task.WhenAny(content.Stream, _finished.Task).ConfigureAwait(false);
            }
            ThrowIfFinished();
            var stream = await content.Stream.ConfigureAwait(false);
            ReadOnlyMemory<byte> frame;
            try
            {
                frame = Serialize(message);
            }
            catch (Exception e)
            {
                throw FailWith(e);
            }
            await stream.WriteAsync(frame, _token).ConfigureAwait(false);
            await stream.FlushAsync(_token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not RpcException and not InvalidOperationException)
        {
            // The stream broke: the response side knows why. A client-streaming call reads it in the background.
            if (_method.Type == MethodType.ClientStreaming)
            {
                await _finished.Task.ConfigureAwait(false);
            }
            ThrowIfFinished();
            throw new RpcException(StatusFromException(e));
        }
        finally
        {
            Volatile.Write(ref _writePending, 0);
        }
    }

    public Task CompleteRequestAsync()
    {
        if (Volatile.Read(ref _writePending) == 1)
        {
            throw new InvalidOperationException("Can't complete the request stream while a write is in progress.");
        }
        _requestCompleted = true;
        _requestContent!.Complete();
        return Task.CompletedTask;
    }

    private void ThrowIfFinished()
    {
        if (_end is { } end)
        {
            throw end.Status.StatusCode == StatusCode.OK
                ? new InvalidOperationException("Can't write the message because the call is complete.")
                : end.ToException();
        }
    }

    private CancellationTokenRegistration RegisterUserCancellation(CancellationToken cancellationToken) =>
        cancellationToken.CanBeCanceled
            ? cancellationToken.Register(static state => ((GrpcCall<TRequest, TResponse>)state!).CancelByUser(), this)
            : default;

    private void CancelByUser()
    {
        _cancelledByUser = true;
        try
        {
            _callCts.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already finished.
        }
    }

    private Status StatusFromException(Exception e)
    {
        if (e is RpcException rpc)
        {
            return rpc.Status;
        }
        if (_deadlineCts?.IsCancellationRequested == true)
        {
            return new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded");
        }
        if (_cancelledByUser || _options.CancellationToken.IsCancellationRequested)
        {
            return new Status(StatusCode.Cancelled, "Call canceled by the client.");
        }
        if (_channel.DisposedToken.IsCancellationRequested)
        {
            return new Status(StatusCode.Cancelled, "The channel was disposed.");
        }
        return e switch
        {
            InvalidProtocolBufferException =>
                new Status(StatusCode.Internal, $"Failed to deserialize response message: {e.Message}"),
            HttpRequestException or IOException or OperationCanceledException => GrpcResponse.FromTransportException(e),
            _ => new Status(StatusCode.Internal, $"Error in gRPC call: {e.GetType().Name}: {e.Message}"),
        };
    }

    /// <summary>Ends the call because of <paramref name="e"/> (unless it already ended) and returns what to throw.</summary>
    private RpcException FailWith(Exception e)
    {
        Finish(StatusFromException(e), (e as RpcException)?.Trailers ?? new Metadata());
        var end = _end!;
        return end.Status.StatusCode == StatusCode.OK
            ? new RpcException(new Status(StatusCode.Cancelled, "The call already completed."))
            : end.ToException();
    }

    private void Finish(Status status, Metadata trailers)
    {
        HttpResponseMessage? response;
        Subchannel? subchannel;
        lock (_gate)
        {
            if (_end is not null)
            {
                return;
            }
            _end = new CallEnd(status, trailers);
            (response, _response) = (_response, null);
            (subchannel, _subchannel) = (_subchannel, null);
        }
        if (!_responseDone || _requestContent is { IsCompleted: false })
        {
            // Resets the HTTP/2 stream so the server stops working on it.
            _callCts.Cancel();
        }
        _requestContent?.Complete();
        response?.Dispose();
        subchannel?.Release();
        if (status.StatusCode == StatusCode.OK)
        {
            _headers.TrySetResult(new Metadata());
        }
        else if (_headers.TrySetException(new RpcException(status, trailers)))
        {
            // Reading Exception marks it observed: nobody has to await the headers of a failed call.
            _ = _headers.Task.Exception;
        }
        GrpcTelemetry.RecordClientCall(_method.ServiceName, _method.Name, status.StatusCode, _startedAt, _activity);
        if (_activity is not null)
        {
            // Stopping an activity makes its parent current; Finish may run on the caller's flow (Dispose), so keep theirs.
            var current = Activity.Current;
            _activity.Dispose();
            if (current != _activity)
            {
                Activity.Current = current;
            }
        }
        _deadlineCts?.Dispose();
        _callCts.Dispose();
        _finished.TrySetResult();
    }

    public void Dispose()
    {
        if (_end is null)
        {
            _cancelledByUser = true;
            Finish(new Status(StatusCode.Cancelled, "gRPC call disposed."), new Metadata());
        }
    }

    /// <summary>How the call ended; one reference, so readers on other threads never see half of it.</summary>
    private sealed record CallEnd(Status Status, Metadata Trailers)
    {
        public RpcException ToException() => new(Status, Trailers);
    }

    public sealed class ResponseStream(GrpcCall<TRequest, TResponse> call) : IAsyncStreamReader<TResponse>
    {
        public TResponse Current => call.Current;

        public Task<bool> MoveNext(CancellationToken cancellationToken = default) => call.MoveNextAsync(cancellationToken);
    }

    public sealed class RequestStream(GrpcCall<TRequest, TResponse> call) : IClientStreamWriter<TRequest>
    {
        public Task WriteAsync(TRequest message, CancellationToken cancellationToken = default) =>
            call.WriteAsync(message, cancellationToken);

        public Task CompleteAsync() => call.CompleteRequestAsync();
    }
}
