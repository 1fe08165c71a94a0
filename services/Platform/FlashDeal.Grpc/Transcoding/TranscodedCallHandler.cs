using System.Diagnostics;
using System.Text;
using Google.Protobuf;
using Google.Rpc;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace FlashDeal.Grpc.Transcoding;

internal interface ITranscodedCallHandler
{
    Task HandleAsync(HttpContext http);
}

/// <summary>
/// Runs one REST call through the method's gRPC pipeline (interceptors included): binds the request, calls the unary or
/// server-streaming delegate, writes JSON (or NDJSON, one message per line) and maps a failure to an HTTP status with a
/// google.rpc.Status JSON body.
/// </summary>
internal sealed class TranscodedCallHandler<TService, TRequest, TResponse>(
    ServiceMethod<TService, TRequest, TResponse> method,
    TranscodedRoute route,
    TranscodingJson json,
    JsonTranscodingOptions options,
    GrpcServerRuntime runtime) : ITranscodedCallHandler
    where TService : class
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    private const string JsonContentType = "application/json; charset=utf-8";
    private const string NdjsonContentType = "application/x-ndjson; charset=utf-8";

    private readonly int _maxBodySize = options.MaxRequestBodySize ?? runtime.Options.MaxReceiveMessageSize;

    public async Task HandleAsync(HttpContext http)
    {
        var match = http.Features.Get<TranscodingRouteMatch>();
        if (match?.Route != route)
        {
            match = route.Template.TryMatch(RequestPath.Get(http), out var values)
                ? new TranscodingRouteMatch(route, values)
                : null;
        }
        using var context = new TranscodedServerCallContext(http, runtime, method);
        var started = Stopwatch.GetTimestamp();
        using var activity = GrpcTelemetry.StartServerActivity(method);
        Status status;
        try
        {
            if (match is null)
            {
                throw new RpcException(StatusCode.NotFound, $"No route matches {http.Request.Path}.");
            }
            context.Initialize();
            var request = (TRequest)await RequestBinder
                .BindAsync(http, match, json, options, _maxBodySize, context).ConfigureAwait(false);
            if (method.Type == MethodType.ServerStreaming)
            {
                await method.ServerStreaming(request, new NdjsonWriter(this, context), context).ConfigureAwait(false);
                status = context.Status;
                if (status.StatusCode == StatusCode.OK && !context.ResponseStarted)
                {
                    StartResponse(http, context, NdjsonContentType);
                    context.WriteTrailers();
                }
            }
            else
            {
                var response = await method.Unary(request, context).ConfigureAwait(false);
                if (context.DeadlineExceeded)
                {
                    throw new RpcException(StatusCode.DeadlineExceeded, "Deadline Exceeded");
                }
                status = context.Status;
                if (status.StatusCode == StatusCode.OK)
                {
                    await WriteUnaryAsync(http, context, response).ConfigureAwait(false);
                }
            }
        }
        catch (Exception e)
        {
            status = runtime.StatusFromException(e, context, context.DeadlineExceeded, context.ServerShuttingDown, method.FullName);
        }

        if (status.StatusCode != StatusCode.OK)
        {
            if (http.RequestAborted.IsCancellationRequested)
            {
                status = new Status(StatusCode.Cancelled, "Call cancelled by the client.");
            }
            else
            {
                await WriteErrorAsync(http, context, status).ConfigureAwait(false);
            }
        }
        else if (context.ResponseStarted)
        {
            context.WriteTrailers();
        }
        GrpcTelemetry.RecordServerCall(method, status.StatusCode, started, activity);
    }

    private async Task WriteUnaryAsync(HttpContext http, TranscodedServerCallContext context, TResponse response)
    {
        var bytes = Encoding.UTF8.GetBytes(FormatResponse(response));
        context.WriteTrailers();
        StartResponse(http, context, JsonContentType);
        http.Response.ContentLength = bytes.Length;
        context.ResponseStarted = true;
        await http.Response.Body.WriteAsync(bytes, context.CancellationToken).ConfigureAwait(false);
    }

    /// <summary>The whole response, or its response_body field.</summary>
    private string FormatResponse(TResponse response) =>
        json.Format(route.ResponseBodyField is { } field ? field.Accessor.GetValue(response) : response);

    private static void StartResponse(HttpContext http, TranscodedServerCallContext context, string contentType)
    {
        http.Response.StatusCode = context.SuccessStatus();
        http.Response.ContentType = contentType;
    }

    /// <summary>
    /// Before any body: the mapped HTTP status and the google.rpc.Status JSON. After streamed lines: a last line
    /// <c>{"error":{...}}</c>, since the 200 is already on the wire.
    /// </summary>
    private async Task WriteErrorAsync(HttpContext http, TranscodedServerCallContext context, Status status)
    {
        var statusJson = json.FormatStatus(status);
        try
        {
            if (context.ResponseStarted)
            {
                var line = Encoding.UTF8.GetBytes($"{{\"error\":{statusJson}}}\n");
                await http.Response.Body.WriteAsync(line, http.RequestAborted).ConfigureAwait(false);
                context.WriteTrailers();
                return;
            }
            context.WriteTrailers();
            var response = http.Response;
            response.StatusCode = context.ErrorStatus(status.StatusCode);
            response.ContentType = JsonContentType;
            if (RetryAfterSeconds(status) is { } seconds)
            {
                response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            var bytes = Encoding.UTF8.GetBytes(statusJson);
            response.ContentLength = bytes.Length;
            context.ResponseStarted = true;
            await response.Body.WriteAsync(bytes, http.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            // The client went away while the error was being written: nothing more can be done.
        }
    }

    /// <summary>Whole seconds of a google.rpc.RetryInfo detail, rounded up, for the Retry-After header.</summary>
    private static long? RetryAfterSeconds(Status status)
    {
        var retry = status.RichStatus?.Details.FirstOrDefault(d => d.Is(RetryInfo.Descriptor))?.Unpack<RetryInfo>();
        if (retry?.RetryDelay is not { } delay)
        {
            return null;
        }
        return Math.Max(0, (long)Math.Ceiling(delay.ToTimeSpan().TotalSeconds));
    }

    /// <summary>Writes each streamed message as one JSON line and flushes it.</summary>
    private sealed class NdjsonWriter(TranscodedCallHandler<TService, TRequest, TResponse> handler,
        TranscodedServerCallContext context) : IServerStreamWriter<TResponse>
    {
        private int _writing;

        public Task WriteAsync(TResponse message) => WriteAsync(message, CancellationToken.None);

        public async Task WriteAsync(TResponse message, CancellationToken cancellationToken)
        {
            if (Interlocked.Exchange(ref _writing, 1) == 1)
            {
                throw new InvalidOperationException("Only one write can be pending at a time.");
            }
            try
            {
                var http = context.GetHttpContext();
                var line = Encoding.UTF8.GetBytes(handler.FormatResponse(message) + "\n");
                if (!context.ResponseStarted)
                {
                    StartResponse(http, context, NdjsonContentType);
                    context.ResponseStarted = true;
                }
                var token = cancellationToken.CanBeCanceled ? cancellationToken : context.CancellationToken;
                await http.Response.Body.WriteAsync(line, token).ConfigureAwait(false);
                await http.Response.Body.FlushAsync(token).ConfigureAwait(false);
            }
            finally
            {
                Volatile.Write(ref _writing, 0);
            }
        }
    }
}
