using FlashDeal.Grpc.Testing.V1;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace FlashDeal.Grpc.Tests.UnitTests;

public class ClientMethodTests
{
    private static readonly ServiceDescriptor Echo = EchoReflection.Descriptor.Services.Single(s => s.Name == "EchoService");

    [Fact]
    public void KindComesFromTheStreamingFlagsOfTheDescriptor()
    {
        var unary = Method<EchoRequest, EchoResponse>.FromDescriptor(Echo.FindMethodByName("Echo")!);
        var serverStreaming = Method<ExpandRequest, EchoResponse>.FromDescriptor(Echo.FindMethodByName("Expand")!);
        var clientStreaming = Method<EchoRequest, EchoResponse>.FromDescriptor(Echo.FindMethodByName("Collect")!);
        var duplex = Method<EchoRequest, EchoResponse>.FromDescriptor(Echo.FindMethodByName("Chat")!);

        Assert.Equal(MethodType.Unary, unary.Type);
        Assert.Equal(MethodType.ServerStreaming, serverStreaming.Type);
        Assert.Equal(MethodType.ClientStreaming, clientStreaming.Type);
        Assert.Equal(MethodType.DuplexStreaming, duplex.Type);
        Assert.Equal("/flashdeal.testing.v1.EchoService/Expand", serverStreaming.FullName);
        Assert.Equal("flashdeal.testing.v1.EchoService", serverStreaming.ServiceName);
        Assert.False(unary.IsIdempotent);
    }

    [Fact]
    public void MessageTypesMustMatchTheDescriptor()
    {
        var fail = Echo.FindMethodByName("Fail")!;

        var e = Assert.Throws<ArgumentException>(() => Method<EchoRequest, EchoResponse>.FromDescriptor(fail));

        Assert.Contains("flashdeal.testing.v1.FailRequest", e.Message);
    }

    [Theory]
    [InlineData("Get", true)]
    [InlineData("Put", true)]
    [InlineData("Post", false)]
    public void IdempotencyComesFromTheIdempotencyLevelOption(string name, bool idempotent)
    {
        var method = Method<EchoRequest, EchoResponse>.FromDescriptor(IdempotencyService().FindMethodByName(name)!);

        Assert.Equal(idempotent, method.IsIdempotent);
    }

    /// <summary>A service built at runtime whose methods declare each idempotency level.</summary>
    private static ServiceDescriptor IdempotencyService()
    {
        MethodDescriptorProto Rpc(string name, MethodOptions.Types.IdempotencyLevel? level) => new()
        {
            Name = name,
            InputType = ".flashdeal.testing.v1.EchoRequest",
            OutputType = ".flashdeal.testing.v1.EchoResponse",
            Options = level is { } l ? new MethodOptions { IdempotencyLevel = l } : null,
        };
        var proto = new FileDescriptorProto
        {
            Name = "flashdeal/testing/v1/idempotency_test.proto",
            Package = "flashdeal.testing.v1",
            Syntax = "proto3",
            Dependency = { EchoReflection.Descriptor.Name },
            Service =
            {
                new ServiceDescriptorProto
                {
                    Name = "IdempotencyService",
                    Method =
                    {
                        Rpc("Get", MethodOptions.Types.IdempotencyLevel.NoSideEffects),
                        Rpc("Put", MethodOptions.Types.IdempotencyLevel.Idempotent),
                        Rpc("Post", null),
                    },
                },
            },
        };
        var files = new List<ByteString>();
        AddWithDependencies(EchoReflection.Descriptor, files, []);
        files.Add(proto.ToByteString());
        return FileDescriptor.BuildFromByteStrings(files)[^1].Services[0];
    }

    private static void AddWithDependencies(FileDescriptor file, List<ByteString> files, HashSet<string> seen)
    {
        if (!seen.Add(file.Name))
        {
            return;
        }
        foreach (var dependency in file.Dependencies)
        {
            AddWithDependencies(dependency, files, seen);
        }
        files.Add(file.SerializedData);
    }
}
