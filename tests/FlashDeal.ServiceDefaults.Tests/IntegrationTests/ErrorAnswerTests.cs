using System.Net;
using System.Text;
using System.Text.Json;
using FlashDeal.Contracts.Auth.V1;
using Google.Rpc;

namespace FlashDeal.ServiceDefaults.Tests.IntegrationTests;

/// <summary>
/// What callers get where no handler answers: a google.rpc.Status, as JSON with the matching HTTP status for REST and
/// as a trailers-only response for gRPC; and health on both ports.
/// </summary>
public sealed class ErrorAnswerTests : IAsyncLifetime
{
    private DefaultsHost _host = null!;

    public async Task InitializeAsync() => _host = await DefaultsHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    [Fact]
    public async Task UnknownRouteIsAJsonNotFound()
    {
        var response = await _host.Http.GetAsync("/v1/no-such-thing");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(5, (await JsonAsync(response)).GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task WrongMethodIsAJson405()
    {
        var response = await _host.Http.DeleteAsync("/v1/things/7");

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal(12, (await JsonAsync(response)).GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task BodyOverTheLimitIs413AndTheConnectionGoesOn()
    {
        var big = new StringContent(new string('x', 4096), Encoding.UTF8, "application/json");
        var response = await _host.Http.PostAsync("/v1/echo", big);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(8, (await JsonAsync(response)).GetProperty("code").GetInt32());

        // A chunked body (no Content-Length) is cut off while it is read.
        using var chunked = new HttpRequestMessage(HttpMethod.Post, "/v1/echo")
        {
            Content = new StreamContent(new MemoryStream(new byte[4096])),
        };
        chunked.Headers.TransferEncodingChunked = true;
        var cut = await _host.Http.SendAsync(chunked);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, cut.StatusCode);

        var small = await _host.Http.PostAsync("/v1/echo", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.Equal("2", await small.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task CustomerIsDeniedTheAdminPolicyWithItsReason()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/admin");
        request.Headers.TryAddWithoutValidation("authorization", "Bearer " + DefaultsHost.Token("ada"));
        var response = await _host.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("ADMIN_ROLE_REQUIRED", await response.Content.ReadAsStringAsync());

        using var admin = new HttpRequestMessage(HttpMethod.Get, "/v1/admin");
        admin.Headers.TryAddWithoutValidation("authorization", "Bearer " + DefaultsHost.Token("root", Role.Admin));
        Assert.Equal(HttpStatusCode.OK, (await _host.Http.SendAsync(admin)).StatusCode);
    }

    [Fact]
    public async Task GrpcCallerGetsATrailersOnlyStatusWithDetails()
    {
        using var http = new HttpClient(new SocketsHttpHandler()) { BaseAddress = _host.GrpcAddress };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/flashdeal.test.v1.Probe/Call")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent([0, 0, 0, 0, 0]),
        };
        request.Content.Headers.ContentType = new("application/grpc");

        var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/grpc", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal("16", response.Headers.GetValues("grpc-status").Single());
        Assert.Contains("Missing", Uri.UnescapeDataString(response.Headers.GetValues("grpc-message").Single()));
        var status = Status.Parser.ParseFrom(Convert.FromBase64String(response.Headers.GetValues("grpc-status-details-bin").Single()));
        Assert.Equal(16, status.Code);
        Assert.Equal("ACCESS_TOKEN_MISSING", status.Details.Single().Unpack<ErrorInfo>().Reason);
    }

    [Fact]
    public async Task GarbageProtobufIsInvalidArgumentAndTheConnectionGoesOn()
    {
        using var http = new HttpClient(new SocketsHttpHandler()) { BaseAddress = _host.GrpcAddress };

        var garbage = await CallHealthAsync(http, [0, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x0a, 0x99]);
        Assert.Equal("3", garbage.Headers.GetValues("grpc-status").Single());
        Assert.Contains("not valid protobuf", Uri.UnescapeDataString(garbage.Headers.GetValues("grpc-message").Single()));

        // HealthCheckRequest {} on the same connection.
        var good = await CallHealthAsync(http, [0, 0, 0, 0, 0]);
        Assert.Equal("0", good.TrailingHeaders.GetValues("grpc-status").Single());
    }

    private static async Task<HttpResponseMessage> CallHealthAsync(HttpClient http, byte[] frame)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/grpc.health.v1.Health/Check")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(frame),
        };
        request.Content.Headers.ContentType = new("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        var response = await http.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();
        return response;
    }

    [Fact]
    public async Task RequestIdComesBack()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/whoami");
        request.Headers.TryAddWithoutValidation("x-request-id", "req-42");
        var response = await _host.Http.SendAsync(request);

        Assert.Equal("req-42", response.Headers.GetValues("x-request-id").Single());
    }

    [Fact]
    public async Task ProbesAnswerOnTheRestPort()
    {
        var live = await _host.Http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal("ALIVE", (await JsonAsync(live)).GetProperty("status").GetString());

        var ready = await _host.Http.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var body = await JsonAsync(ready);
        Assert.Equal("SERVING", body.GetProperty("status").GetString());
        Assert.Equal("Healthy", body.GetProperty("checks").GetProperty("shutdown").GetString());
    }
}
