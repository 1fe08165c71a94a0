using System.Diagnostics;
using FlashDeal.Grpc;
using Microsoft.Extensions.Logging;

namespace FlashDeal.Security;

/// <summary>
/// Validates the `authorization: Bearer` metadata of every call (gRPC, and REST, whose HTTP headers arrive as metadata),
/// records the caller on the call context and HttpContext.User, and enforces the method's [Authorize] requirement.
/// A refused token on a public method leaves the call anonymous; RequireUser() then reports why.
/// </summary>
public sealed class AuthInterceptor(
    AccessTokenValidator validator,
    MethodAuthorizationTable methods,
    ILogger<AuthInterceptor> logger) : Interceptor
{
    private const string BearerPrefix = "Bearer ";

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request,
        ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        await AuthenticateAsync(context).ConfigureAwait(false);
        return await continuation(request, context).ConfigureAwait(false);
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthenticateAsync(context).ConfigureAwait(false);
        await continuation(request, responseStream, context).ConfigureAwait(false);
    }

    public override async Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context,
        ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthenticateAsync(context).ConfigureAwait(false);
        return await continuation(requestStream, context).ConfigureAwait(false);
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        await AuthenticateAsync(context).ConfigureAwait(false);
        await continuation(requestStream, responseStream, context).ConfigureAwait(false);
    }

    private async Task AuthenticateAsync(ServerCallContext context)
    {
        var header = context.RequestHeaders.GetValue("authorization");
        TokenValidationResult result;
        if (header is null)
        {
            result = TokenValidationResult.Missing;
        }
        else if (!header.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase)
                 || header.AsSpan(BearerPrefix.Length).Trim().IsEmpty)
        {
            result = TokenValidationResult.Fail(TokenFailureReason.Malformed, "Expected 'authorization: Bearer <token>'.");
        }
        else
        {
            result = await validator.ValidateAsync(header[BearerPrefix.Length..].Trim(), context.CancellationToken)
                .ConfigureAwait(false);
        }

        context.SetAuthentication(result);
        if (result.User is { } user)
        {
            context.GetHttpContext().User = user.ToClaimsPrincipal();
            Activity.Current?.SetTag("enduser.id", user.UserId);
        }
        else if (result.Failure != TokenFailureReason.Missing)
        {
            // The reason only: a token is a credential and never goes to a log.
            logger.LogDebug("Refused access token on {Method}: {Reason}", context.Method, result.Failure);
        }
        methods.Get(context.Method).Enforce(context);
    }
}
