using Google.Protobuf.Reflection;

namespace FlashDeal.Grpc;

public sealed class GrpcReflectionOptions
{
    /// <summary>
    /// Files served besides those of the mapped services. By default the google.rpc error details and status, so
    /// clients can decode the details in grpc-status-details-bin.
    /// </summary>
    public List<FileDescriptor> AdditionalFiles { get; } =
    [
        Google.Rpc.StatusReflection.Descriptor,
        Google.Rpc.ErrorDetailsReflection.Descriptor,
    ];
}
