using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Status = Google.Rpc.Status;

namespace FlashDeal.ServiceDefaults;

/// <summary>
/// Errors as FlashDeal answers them: a canonical code plus a google.rpc.Status in grpc-status-details-bin (Grpc.StatusProto),
/// which JSON transcoding renders as the REST body. ErrorInfo carries the machine-readable reason, BadRequest the field
/// violations, RetryInfo when to come back.
/// </summary>
public static class RpcErrors
{
    public static RpcException WithDetails(StatusCode code, string message, params IMessage[] details) =>
        Status(code, message, details).ToRpcException();

    /// <summary>The google.rpc.Status of an error (also what middleware writes when no gRPC call ran).</summary>
    public static Status Status(StatusCode code, string message, params IMessage[] details)
    {
        var status = new Status { Code = (int)code, Message = message };
        foreach (var detail in details)
        {
            status.Details.Add(Any.Pack(detail));
        }
        return status;
    }

    /// <summary>INVALID_ARGUMENT with a BadRequest naming each offending field (proto field paths, e.g. "deal.stock").</summary>
    public static RpcException InvalidArgument(params (string Field, string Description)[] violations) =>
        WithDetails(StatusCode.InvalidArgument, string.Join("; ", violations.Select(v => $"{v.Field}: {v.Description}")),
            BadRequest(violations));

    public static BadRequest BadRequest(IEnumerable<(string Field, string Description)> violations)
    {
        var badRequest = new BadRequest();
        foreach (var (field, description) in violations)
        {
            badRequest.FieldViolations.Add(new BadRequest.Types.FieldViolation { Field = field, Description = description });
        }
        return badRequest;
    }

    /// <summary>An error with a machine-readable reason (google.rpc.ErrorInfo) and optional metadata (ids, numbers).</summary>
    public static RpcException WithReason(StatusCode code, string reason, string domain, string message,
        IReadOnlyDictionary<string, string>? metadata = null, params IMessage[] more) =>
        ReasonStatus(code, reason, domain, message, metadata, more).ToRpcException();

    /// <summary>The google.rpc.Status of <see cref="WithReason"/> (for <see cref="Refuse{TResponse}"/>).</summary>
    public static Status ReasonStatus(StatusCode code, string reason, string domain, string message,
        IReadOnlyDictionary<string, string>? metadata = null, params IMessage[] more) =>
        Status(code, message, [ErrorInfo(reason, domain, metadata), .. more]);

    public static ErrorInfo ErrorInfo(string reason, string domain, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var info = new ErrorInfo { Reason = reason, Domain = domain };
        if (metadata is not null)
        {
            foreach (var (key, value) in metadata)
            {
                info.Metadata[key] = value;
            }
        }
        return info;
    }

    public static RetryInfo RetryInfo(TimeSpan retryAfter) => new() { RetryDelay = Duration.FromTimeSpan(retryAfter) };

    /// <summary>
    /// Ends a unary call with <paramref name="status"/> without throwing, for refusals a handler answers by the thousand
    /// (PlaceOrder's SOLD_OUT after a sell-out). On Grpc.AspNetCore an error is an exception rethrown at each async frame of
    /// the framework, microseconds of CPU apiece; setting <see cref="ServerCallContext.Status"/> and the details trailer
    /// and returning a placeholder message ends the call with the same status, message and grpc-status-details-bin
    /// without one (every gRPC client reports a non-OK status as the call's error and drops the message; the framework
    /// logs and counts it as a failed call). A REST caller gets the thrown path: JSON transcoding renders details only
    /// from an exception.
    /// </summary>
    public static Task<TResponse> Refuse<TResponse>(ServerCallContext context, Status status, TResponse placeholder)
    {
        if (!ErrorResponses.IsGrpc(context.GetHttpContext().Request))
        {
            return Task.FromException<TResponse>(status.ToRpcException());
        }
        context.Status = new Grpc.Core.Status((StatusCode)status.Code, status.Message);
        context.ResponseTrailers.SetRpcStatus(status);
        return Task.FromResult(placeholder);
    }

    /// <summary>The first detail of type <typeparamref name="T"/> in the error's google.rpc.Status, or null.</summary>
    public static T? GetDetail<T>(this RpcException exception) where T : class, IMessage<T>, new() =>
        exception.GetRpcStatus()?.GetDetail<T>();
}
