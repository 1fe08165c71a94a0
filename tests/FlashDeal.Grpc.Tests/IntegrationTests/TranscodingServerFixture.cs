using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FlashDeal.Grpc.Testing;
using Google.Protobuf;
using Microsoft.Extensions.DependencyInjection;

namespace FlashDeal.Grpc.Tests.IntegrationTests;

/// <summary>An EchoServerHost (Echo + Bookstore, transcoding on) with a recording interceptor, and REST/gRPC helpers.</summary>
public sealed class TranscodingServerFixture : IAsyncLifetime
{
    private EchoServerHost? _host;

    public EchoServerHost Host => _host ?? throw new InvalidOperationException("Not started.");

    public HttpClient Rest { get; private set; } = null!;

    public RecordingInterceptor Interceptor => Host.Services.GetRequiredService<RecordingInterceptor>();

    public async Task InitializeAsync()
    {
        _host = await EchoServerHost.StartAsync(o => o.AddInterceptor<RecordingInterceptor>(),
            configureBuilder: b => b.Services.AddSingleton<RecordingInterceptor>());
        Rest = new HttpClient { BaseAddress = _host.RestAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public async Task DisposeAsync()
    {
        Rest.Dispose();
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    /// <summary>Sends a REST request and parses the JSON body (JsonValueKind.Undefined when the body is empty).</summary>
    public static async Task<(HttpResponseMessage Response, JsonElement Json)> SendAsync(HttpClient client, string method,
        string path, string? json = null, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var element = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        return (response, element);
    }

    public Task<(HttpResponseMessage Response, JsonElement Json)> SendAsync(string method, string path, string? json = null,
        params (string Name, string Value)[] headers) => SendAsync(Rest, method, path, json, headers);

    /// <summary>One unary call over HTTP/2 gRPC: the reply (null when none) and grpc-status.</summary>
    public async Task<(TResponse? Reply, int Status)> CallGrpcAsync<TResponse>(string method, IMessage request,
        MessageParser<TResponse> parser, params (string Name, string Value)[] headers) where TResponse : class, IMessage<TResponse>
    {
        using var client = new HttpClient(new SocketsHttpHandler());
        var frame = new ArrayBufferWriter<byte>();
        GrpcProtocol.WriteFrame(frame, request, int.MaxValue, null);
        using var message = new HttpRequestMessage(HttpMethod.Post, new Uri(Host.GrpcAddress, method))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(frame.WrittenMemory.ToArray()),
        };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue(GrpcProtocol.ContentType);
        message.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        foreach (var (name, value) in headers)
        {
            message.Headers.TryAddWithoutValidation(name, value);
        }
        using var response = await client.SendAsync(message);
        var body = new ReadOnlySequence<byte>(await response.Content.ReadAsByteArrayAsync());
        var status = response.TrailingHeaders.TryGetValues(GrpcProtocol.StatusHeader, out var trailer)
            ? trailer.Single()
            : response.Headers.GetValues(GrpcProtocol.StatusHeader).Single();
        TResponse? reply = null;
        if (GrpcProtocol.TryReadFrame(ref body, int.MaxValue, out _, out var payload))
        {
            reply = parser.ParseFrom(payload);
        }
        return (reply, int.Parse(status));
    }
}

/// <summary>Records every call it sees; a request carrying "x-deny" metadata is refused with PERMISSION_DENIED.</summary>
public sealed class RecordingInterceptor : Interceptor
{
    public ConcurrentQueue<(string Method, bool IsTranscoded, string Request)> Calls { get; } = new();

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Record(request, context);
        return continuation(request, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Record(request, context);
        return continuation(request, responseStream, context);
    }

    private void Record(object request, ServerCallContext context)
    {
        Calls.Enqueue((context.Method, context.IsTranscoded, request.ToString() ?? ""));
        if (context.RequestHeaders.GetValue("x-deny") is { } reason)
        {
            throw new RpcException(StatusCode.PermissionDenied, $"Denied by interceptor: {reason}");
        }
    }
}
