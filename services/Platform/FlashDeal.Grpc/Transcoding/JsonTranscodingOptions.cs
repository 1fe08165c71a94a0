using Google.Protobuf.Reflection;

namespace FlashDeal.Grpc.Transcoding;

public sealed class JsonTranscodingOptions
{
    /// <summary>
    /// Write fields that hold their default value (0, "", false, empty lists) so REST clients see every scalar.
    /// Fields with presence (messages, optional, wrappers) are written only when set. Default true.
    /// </summary>
    public bool FormatDefaultValues { get; set; } = true;

    /// <summary>Skip unknown JSON fields and query parameters instead of answering 400. Default false.</summary>
    public bool IgnoreUnknownFields { get; set; }

    /// <summary>Largest request body accepted (413 RESOURCE_EXHAUSTED above). Null uses GrpcServerOptions.MaxReceiveMessageSize.</summary>
    public int? MaxRequestBodySize { get; set; }

    /// <summary>
    /// Answer requests no endpoint matches with a JSON 404 (or 405 when another method fits the path). Default true.
    /// Turn off when the app serves other unmatched paths itself (e.g. static files).
    /// </summary>
    public bool MapFallbackEndpoint { get; set; } = true;

    /// <summary>
    /// Files whose messages may travel inside google.protobuf.Any (e.g. a service's own error detail types). The
    /// google.rpc error details and each service's files with their imports are always known.
    /// </summary>
    public List<FileDescriptor> TypeRegistryFiles { get; } = [];
}
