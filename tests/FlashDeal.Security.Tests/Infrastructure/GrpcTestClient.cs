using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using FlashDeal.Grpc;
using Google.Protobuf;
using Google.Rpc;

namespace FlashDeal.Security.Tests;

/// <summary>The outcome of one call: responses, status and the ErrorInfo detail if any.</summary>
public sealed record GrpcCallResult<T>(IReadOnlyList<T> Responses, StatusCode Code, string Message, ErrorInfo? ErrorInfo)
{
    public T Response => Code == StatusCode.OK ? Responses.Single() : throw new InvalidOperationException($"{Code}: {Message}");
}

/// <summary>
/// A minimal h2c gRPC caller over HttpClient for single-request calls (unary and server streaming), enough to see
/// status and details as a real client does; the runtime's own client lives on another branch.
/// </summary>
public sealed class GrpcTestClient(Uri address) : IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler()) { BaseAddress = address };

    public async Task<GrpcCallResult<TResponse>> CallAsync<TResponse>(string path, IMessage request,
        string? authorization = null) where TResponse : IMessage<TResponse>, new()
    {
        var payload = request.ToByteArray();
        var frame = new byte[5 + payload.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame, 5);
        using var message = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(frame),
        };
        message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        message.Headers.TryAddWithoutValidation("te", "trailers");
        if (authorization is not null)
        {
            message.Headers.TryAddWithoutValidation("authorization", authorization);
        }

        using var response = await _http.SendAsync(message);
        var body = await response.Content.ReadAsByteArrayAsync();
        var responses = new List<TResponse>();
        var parser = new MessageParser<TResponse>(() => new TResponse());
        for (var offset = 0; offset + 5 <= body.Length;)
        {
            var length = (int)BinaryPrimitives.ReadUInt32BigEndian(body.AsSpan(offset + 1));
            responses.Add(parser.ParseFrom(body, offset + 5, length));
            offset += 5 + length;
        }

        // Trailers-only responses carry the status in the headers.
        var source = response.Headers.Contains(GrpcProtocol.StatusHeader) ? response.Headers : response.TrailingHeaders;
        var code = (StatusCode)int.Parse(source.GetValues(GrpcProtocol.StatusHeader).Single());
        var text = source.TryGetValues(GrpcProtocol.MessageHeader, out var m) ? Uri.UnescapeDataString(m.Single()) : "";
        ErrorInfo? info = null;
        if (source.TryGetValues(GrpcProtocol.StatusDetailsHeader, out var details))
        {
            var value = details.Single();
            var rich = Google.Rpc.Status.Parser.ParseFrom(Convert.FromBase64String(value.PadRight((value.Length + 3) / 4 * 4, '=')));
            info = rich.Details.Select(d => d.TryUnpack<ErrorInfo>(out var e) ? e : null).FirstOrDefault(e => e is not null);
        }
        return new GrpcCallResult<TResponse>(responses, code, text, info);
    }

    public void Dispose() => _http.Dispose();
}
