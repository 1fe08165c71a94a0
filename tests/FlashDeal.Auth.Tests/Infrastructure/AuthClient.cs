using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using FlashDeal.Contracts.Auth.V1;
using FlashDeal.ServiceDefaults;
using FlashDeal.TestInfrastructure;
using Google.Rpc;
using Grpc.Core;

namespace FlashDeal.Auth.Tests;

/// <summary>A REST answer: the response and its JSON body (undefined when empty).</summary>
public sealed record RestResponse(HttpResponseMessage Response, JsonElement Json)
{
    public int Status => (int)Response.StatusCode;

    /// <summary>The ErrorInfo reason of a google.rpc.Status body.</summary>
    public string? Reason => Detail("type.googleapis.com/google.rpc.ErrorInfo")?.GetProperty("reason").GetString();

    /// <summary>The fields named by the BadRequest detail.</summary>
    public IReadOnlyList<string> ViolatedFields =>
        Detail("type.googleapis.com/google.rpc.BadRequest") is { } badRequest
            ? [.. badRequest.GetProperty("fieldViolations").EnumerateArray().Select(v => v.GetProperty("field").GetString()!)]
            : [];

    private JsonElement? Detail(string type) =>
        Json.ValueKind == JsonValueKind.Object && Json.TryGetProperty("details", out var details)
            ? details.EnumerateArray().Cast<JsonElement?>().FirstOrDefault(d => d!.Value.GetProperty("@type").GetString() == type)
            : null;
}

/// <summary>
/// Calls the auth service under test over gRPC (the generated client on its h2c port) and REST (its HTTP/1.1 port).
/// </summary>
public sealed class AuthClient(ServiceTestHost host)
{
    public const string Password = "correct horse battery";

    public ServiceTestHost Host => host;

    public AuthService.AuthServiceClient Grpc { get; } = new(host.Grpc);

    /// <summary>The bearer token and headers given, and a deadline generous for a busy machine.</summary>
    public static CallOptions Options(string? accessToken = null, Metadata? headers = null)
    {
        headers ??= [];
        if (accessToken is not null)
        {
            headers.Add("authorization", "Bearer " + accessToken);
        }
        return new CallOptions(headers, DateTime.UtcNow.AddSeconds(60));
    }

    public async Task<TResponse> CallAsync<TResponse>(
        Func<AuthService.AuthServiceClient, AsyncUnaryCall<TResponse>> call)
    {
        using var pending = call(Grpc);
        return await pending;
    }

    /// <summary>The RpcException of a call that must fail.</summary>
    public Task<RpcException> FailAsync<TResponse>(
        Func<AuthService.AuthServiceClient, AsyncUnaryCall<TResponse>> call) =>
        Assert.ThrowsAsync<RpcException>(() => CallAsync(call));

    public Task<SignUpResponse> SignUpAsync(string email, string password = Password, string displayName = "") =>
        CallAsync(c => c.SignUpAsync(
            new SignUpRequest { Email = email, Password = password, DisplayName = displayName }, Options()));

    public Task<LogInResponse> LogInAsync(string email, string password = Password, Metadata? headers = null) =>
        CallAsync(c => c.LogInAsync(new LogInRequest { Email = email, Password = password },
            Options(headers: headers)));

    public Task<RpcException> LogInFailsAsync(string email, string password = Password, Metadata? headers = null) =>
        FailAsync(c => c.LogInAsync(new LogInRequest { Email = email, Password = password },
            Options(headers: headers)));

    public Task<RefreshResponse> RefreshAsync(string refreshToken) =>
        CallAsync(c => c.RefreshAsync(new RefreshRequest { RefreshToken = refreshToken }, Options()));

    public Task<RpcException> RefreshFailsAsync(string refreshToken) =>
        FailAsync(c => c.RefreshAsync(new RefreshRequest { RefreshToken = refreshToken }, Options()));

    public Task<LogOutResponse> LogOutAsync(string refreshToken, bool allSessions = false) =>
        CallAsync(c => c.LogOutAsync(new LogOutRequest { RefreshToken = refreshToken, AllSessions = allSessions },
            Options()));

    public Task<GetMeResponse> GetMeAsync(string? accessToken) =>
        CallAsync(c => c.GetMeAsync(new GetMeRequest(), Options(accessToken)));

    public Task<RpcException> GetMeFailsAsync(string? accessToken) =>
        FailAsync(c => c.GetMeAsync(new GetMeRequest(), Options(accessToken)));

    public Task<RestResponse> PostAsync(string path, string json, IReadOnlyDictionary<string, string>? headers = null) =>
        SendAsync(HttpMethod.Post, path, json, headers);

    public Task<RestResponse> GetAsync(string path, string? accessToken = null) =>
        SendAsync(HttpMethod.Get, path, null,
            accessToken is null ? null : new Dictionary<string, string> { ["authorization"] = "Bearer " + accessToken });

    private async Task<RestResponse> SendAsync(HttpMethod method, string path, string? json,
        IReadOnlyDictionary<string, string>? headers)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        foreach (var (name, value) in headers ?? new Dictionary<string, string>())
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        var response = await host.Http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        return new RestResponse(response, body.Length == 0 ? default : JsonDocument.Parse(body).RootElement.Clone());
    }
}

public static class RpcExceptionAssertions
{
    public static void AssertReason(this RpcException e, StatusCode code, AuthErrorReason reason)
    {
        Assert.Equal(code, e.StatusCode);
        var info = e.GetDetail<ErrorInfo>();
        Assert.NotNull(info);
        Assert.Equal(AuthErrors.ReasonName(reason), info.Reason);
        Assert.Equal("auth.flashdeal.dev", info.Domain);
    }

    public static IReadOnlyList<string> ViolatedFields(this RpcException e) =>
        e.GetDetail<BadRequest>() is { } badRequest ? [.. badRequest.FieldViolations.Select(v => v.Field)] : [];
}
