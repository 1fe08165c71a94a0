using System.Diagnostics;
using FlashDeal.Load;
using Google.Protobuf;

namespace FlashDeal.LoadTool.Api;

/// <summary>The result of one recorded call: the response, or the outcome that replaced it.</summary>
public readonly record struct ApiResult<T>(T? Response, string Outcome)
    where T : class
{
    public bool IsOk => Response is not null;
}

/// <summary>
/// What scenarios call: sends through the transport and records every attempt (operation, latency, outcome) with the
/// recorder of the iteration that made it. A refusal the caller declares expected is recorded with expected: true.
/// </summary>
public sealed class FlashDealClient(IApiTransport transport, TimeSpan callTimeout)
{
    public IApiTransport Transport { get; } = transport;

    public TimeSpan CallTimeout { get; } = callTimeout;

    public async Task<ApiResult<TResponse>> CallAsync<TRequest, TResponse>(ApiOperation<TRequest, TResponse> operation,
        TRequest request, IOperationRecorder recorder, string? accessToken = null, Func<string, bool>? expected = null,
        CancellationToken cancellationToken = default)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        var started = Stopwatch.GetTimestamp();
        var result = await Transport.TrySendAsync(operation, request, accessToken, CallTimeout, cancellationToken)
            .ConfigureAwait(false);
        recorder.Record(operation.Name, Stopwatch.GetElapsedTime(started), result.Outcome,
            !result.IsOk && (expected?.Invoke(result.Outcome) ?? false));
        return result;
    }

    /// <summary>For set-up steps that must work (admin log-in, creating the deal): the response or an exception.</summary>
    public async Task<TResponse> RequireAsync<TRequest, TResponse>(ApiOperation<TRequest, TResponse> operation,
        TRequest request, IOperationRecorder recorder, string? accessToken = null, CancellationToken cancellationToken = default)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var response = await Transport.SendAsync(operation, request, accessToken, CallTimeout, cancellationToken)
                .ConfigureAwait(false);
            recorder.Record(operation.Name, Stopwatch.GetElapsedTime(started), Outcomes.Ok);
            return response;
        }
        catch (ApiException e)
        {
            recorder.Record(operation.Name, Stopwatch.GetElapsedTime(started), e.Outcome);
            throw new SetupException($"{operation.Name} failed at {Transport.Endpoints.For(operation.Service)} ({Transport.Name}): {e.Message}", e);
        }
    }
}

/// <summary>The scenario could not prepare its run (no admin, service down): reported as a failure, exit code 1.</summary>
public sealed class SetupException(string message, Exception? inner = null) : Exception(message, inner);
