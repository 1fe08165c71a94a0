using FlashDeal.Contracts.Auth.V1;
using FlashDeal.Contracts.Catalog.V1;
using FlashDeal.Contracts.Orders.V1;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace FlashDeal.Interop.Tests.Infrastructure;

/// <summary>
/// The schema the independent clients use, as a binary google.protobuf.FileDescriptorSet built from the descriptors the
/// C# assemblies carry: the FlashDeal contracts, google.rpc error details, grpc.health.v1 and grpc.reflection.v1. The
/// clients compile nothing, and the files are exactly those the services were built from.
/// </summary>
public static class InteropSchema
{
    public static IReadOnlyList<FileDescriptor> Roots { get; } =
    [
        AuthReflection.Descriptor,
        AuthErrorsReflection.Descriptor,
        CatalogReflection.Descriptor,
        CatalogErrorsReflection.Descriptor,
        OrdersReflection.Descriptor,
        OrderErrorsReflection.Descriptor,
        Google.Rpc.StatusReflection.Descriptor,
        Google.Rpc.ErrorDetailsReflection.Descriptor,
        Grpc.Health.V1.HealthReflection.Descriptor,
        Grpc.Reflection.V1.ReflectionReflection.Descriptor,
    ];

    /// <summary>Every file the roots need, each once, imports before the files that import them.</summary>
    public static IReadOnlyList<FileDescriptor> Files()
    {
        var ordered = new List<FileDescriptor>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Visit(FileDescriptor file)
        {
            if (!seen.Add(file.Name))
            {
                return;
            }
            foreach (var dependency in file.Dependencies)
            {
                Visit(dependency);
            }
            ordered.Add(file);
        }
        foreach (var root in Roots)
        {
            Visit(root);
        }
        return ordered;
    }

    /// <summary>The serialized google.protobuf.FileDescriptorSet of <see cref="Files"/>.</summary>
    public static byte[] ToFileDescriptorSet() =>
        new FileDescriptorSet { File = { Files().Select(f => FileDescriptorProto.Parser.ParseFrom(f.SerializedData)) } }
            .ToByteArray();
}
