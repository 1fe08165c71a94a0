using FlashDeal.Grpc.Testing.V1;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace FlashDeal.Grpc.Tests.IntegrationTests;

/// <summary>Client method descriptors of the Echo test service, built from its protobuf descriptor.</summary>
internal static class EchoMethods
{
    public static readonly ServiceDescriptor Service = EchoReflection.Descriptor.Services.Single(s => s.Name == "EchoService");

    public static readonly Method<EchoRequest, EchoResponse> Echo = From<EchoRequest, EchoResponse>("Echo");

    public static readonly Method<FailRequest, EchoResponse> Fail = From<FailRequest, EchoResponse>("Fail");

    public static readonly Method<SleepRequest, EchoResponse> Sleep = From<SleepRequest, EchoResponse>("Sleep");

    public static readonly Method<ExpandRequest, EchoResponse> Expand = From<ExpandRequest, EchoResponse>("Expand");

    public static readonly Method<EchoRequest, EchoResponse> Collect = From<EchoRequest, EchoResponse>("Collect");

    public static readonly Method<EchoRequest, EchoResponse> Chat = From<EchoRequest, EchoResponse>("Chat");

    public static readonly Method<PayloadRequest, PayloadResponse> Payload = From<PayloadRequest, PayloadResponse>("Payload");

    public static readonly Method<EchoRequest, EchoResponse> NotImplemented = From<EchoRequest, EchoResponse>("NotImplemented");

    private static Method<TRequest, TResponse> From<TRequest, TResponse>(string name)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        Method<TRequest, TResponse>.FromDescriptor(Service.FindMethodByName(name));
}
