using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace FlashDeal.Grpc;

/// <summary>
/// Describes one RPC for the client: kind, "/package.Service/Method" path and message types. Build it by hand or from the
/// protobuf descriptor with <see cref="FromDescriptor"/>; no generated client code is needed.
/// </summary>
public sealed class Method<TRequest, TResponse>
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    public Method(MethodType type, string serviceName, string name, bool isIdempotent = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(serviceName);
        ArgumentException.ThrowIfNullOrEmpty(name);
        Type = type;
        ServiceName = serviceName;
        Name = name;
        IsIdempotent = isIdempotent;
        FullName = $"/{serviceName}/{name}";
    }

    public MethodType Type { get; }

    /// <summary>Package-qualified service name, e.g. "flashdeal.orders.v1.OrderService".</summary>
    public string ServiceName { get; }

    public string Name { get; }

    /// <summary>"/package.Service/Method", the HTTP/2 path.</summary>
    public string FullName { get; }

    /// <summary>Calls may be retried on UNAVAILABLE (see <see cref="RetryPolicy"/>); CallOptions.Idempotent overrides it.</summary>
    public bool IsIdempotent { get; }

    public static MessageParser<TResponse> ResponseParser { get; } = new(() => new TResponse());

    private static MessageDescriptor RequestDescriptor => new TRequest().Descriptor;

    private static MessageDescriptor ResponseDescriptor => new TResponse().Descriptor;

    /// <summary>
    /// Builds the method from its protobuf descriptor. The kind comes from the streaming flags and idempotency from
    /// <c>option idempotency_level</c> (IDEMPOTENT or NO_SIDE_EFFECTS).
    /// </summary>
    public static Method<TRequest, TResponse> FromDescriptor(MethodDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        if (descriptor.InputType.FullName != RequestDescriptor.FullName
            || descriptor.OutputType.FullName != ResponseDescriptor.FullName)
        {
            throw new ArgumentException(
                $"{descriptor.FullName} takes {descriptor.InputType.FullName} and returns {descriptor.OutputType.FullName}, " +
                $"not {RequestDescriptor.FullName} and {ResponseDescriptor.FullName}.", nameof(descriptor));
        }
        var type = (descriptor.IsClientStreaming, descriptor.IsServerStreaming) switch
        {
            (false, false) => MethodType.Unary,
            (false, true) => MethodType.ServerStreaming,
            (true, false) => MethodType.ClientStreaming,
            (true, true) => MethodType.DuplexStreaming,
        };
        var level = descriptor.GetOptions()?.IdempotencyLevel;
        var idempotent = level is MethodOptions.Types.IdempotencyLevel.Idempotent
            or MethodOptions.Types.IdempotencyLevel.NoSideEffects;
        return new Method<TRequest, TResponse>(type, descriptor.Service.FullName, descriptor.Name, idempotent);
    }

    public override string ToString() => FullName;
}
