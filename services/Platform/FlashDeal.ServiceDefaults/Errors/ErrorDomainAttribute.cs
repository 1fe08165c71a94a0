namespace FlashDeal.ServiceDefaults;

/// <summary>
/// The ErrorInfo domain of the errors the shared middleware writes for an endpoint on its service's behalf (RATE_LIMITED),
/// when the RPC's service is not the one the process is named after: on a gRPC service class (grpc-dotnet and JSON
/// transcoding copy it into both transports' endpoint metadata), e.g. CouponService served by orders.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method, Inherited = true, AllowMultiple = false)]
public sealed class ErrorDomainAttribute(string domain) : Attribute
{
    public string Domain { get; } = domain;
}
