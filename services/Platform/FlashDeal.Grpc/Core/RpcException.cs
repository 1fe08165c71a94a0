using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;

namespace FlashDeal.Grpc;

/// <summary>Thrown by handlers to end a call with a status, and by the client when a call fails.</summary>
public class RpcException(Status status, Metadata? trailers = null, string? message = null)
    : Exception(message ?? status.ToString())
{
    public RpcException(StatusCode code, string detail) : this(new Status(code, detail)) { }

    public Status Status { get; } = status;

    public StatusCode StatusCode => Status.StatusCode;

    public Metadata Trailers { get; } = trailers ?? new Metadata();

    /// <summary>Builds an error carrying google.rpc.Status details (sent as grpc-status-details-bin).</summary>
    public static RpcException WithDetails(StatusCode code, string detail, params IMessage[] details)
    {
        var rich = new Google.Rpc.Status { Code = (int)code, Message = detail };
        foreach (var d in details)
        {
            rich.Details.Add(Any.Pack(d));
        }
        return new RpcException(new Status(code, detail, rich));
    }

    /// <summary>INVALID_ARGUMENT with a BadRequest naming each offending field.</summary>
    public static RpcException InvalidArgument(params (string Field, string Description)[] violations)
    {
        var badRequest = new BadRequest();
        foreach (var (field, description) in violations)
        {
            badRequest.FieldViolations.Add(new BadRequest.Types.FieldViolation { Field = field, Description = description });
        }
        var detail = string.Join("; ", violations.Select(v => $"{v.Field}: {v.Description}"));
        return WithDetails(StatusCode.InvalidArgument, detail, badRequest);
    }

    /// <summary>An error with a machine-readable reason (google.rpc.ErrorInfo).</summary>
    public static RpcException WithReason(StatusCode code, string reason, string domain, string detail,
        IReadOnlyDictionary<string, string>? metadata = null)
    {
        var info = new ErrorInfo { Reason = reason, Domain = domain };
        if (metadata is not null)
        {
            foreach (var (key, value) in metadata)
            {
                info.Metadata[key] = value;
            }
        }
        return WithDetails(code, detail, info);
    }

    /// <summary>Finds the first detail of the given type, or null.</summary>
    public T? GetDetail<T>() where T : class, IMessage<T>, new()
    {
        if (Status.RichStatus is null)
        {
            return null;
        }
        foreach (var any in Status.RichStatus.Details)
        {
            if (any.TryUnpack<T>(out var value))
            {
                return value;
            }
        }
        return null;
    }
}
