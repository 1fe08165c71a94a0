namespace FlashDeal.Grpc;

public sealed class GrpcServerOptions
{
    /// <summary>Largest request message accepted; larger ones fail with RESOURCE_EXHAUSTED. Default 4 MiB.</summary>
    public int MaxReceiveMessageSize { get; set; } = GrpcProtocol.DefaultMaxReceiveMessageSize;

    /// <summary>Largest response message sent; larger ones fail with RESOURCE_EXHAUSTED. Default unlimited.</summary>
    public int MaxSendMessageSize { get; set; } = int.MaxValue;

    /// <summary>grpc-encoding used for responses when the client accepts it (e.g. "gzip"); null sends uncompressed.</summary>
    public string? ResponseCompressionAlgorithm { get; set; }

    public List<ICompressionProvider> CompressionProviders { get; } = [new GzipCompressionProvider()];

    /// <summary>Interceptor types, outermost first; resolved from DI (or created) per call.</summary>
    public List<Type> Interceptors { get; } = [];

    /// <summary>Put exception messages of unexpected errors in grpc-message (development only).</summary>
    public bool EnableDetailedErrors { get; set; }

    public GrpcServerOptions AddInterceptor<T>() where T : Interceptor
    {
        Interceptors.Add(typeof(T));
        return this;
    }
}

/// <summary>Marks a class as the implementation of a protobuf service, named by its full name.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class GrpcServiceAttribute(string fullName) : Attribute
{
    /// <summary>Package-qualified service name, e.g. "flashdeal.orders.v1.OrderService".</summary>
    public string FullName { get; } = fullName;
}
