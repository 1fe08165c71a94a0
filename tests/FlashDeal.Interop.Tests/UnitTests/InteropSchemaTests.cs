using FlashDeal.Interop.Tests.Infrastructure;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace FlashDeal.Interop.Tests.UnitTests;

public sealed class InteropSchemaTests
{
    private static readonly FileDescriptorSet Set = FileDescriptorSet.Parser.ParseFrom(InteropSchema.ToFileDescriptorSet());

    [Fact]
    public void FilesComeOnceEachAndAfterTheirImports()
    {
        var names = Set.File.Select(f => f.Name).ToList();
        Assert.Equal(names.Distinct(), names);
        for (var i = 0; i < Set.File.Count; i++)
        {
            Assert.All(Set.File[i].Dependency, d => Assert.Contains(d, names.Take(i)));
        }
    }

    [Fact]
    public void SetBuildsIntoDescriptorsWithEveryServiceTheClientsCall()
    {
        // BuildFromByteStrings needs each file's imports earlier in the list, as protoc's --include_imports writes them.
        var files = FileDescriptor.BuildFromByteStrings(Set.File.Select(f => f.ToByteString()));
        var services = files.SelectMany(f => f.Services).Select(s => s.FullName).ToList();
        Assert.Contains("flashdeal.auth.v1.AuthService", services);
        Assert.Contains("flashdeal.catalog.v1.CatalogService", services);
        Assert.Contains("flashdeal.orders.v1.OrderService", services);
        Assert.Contains("grpc.health.v1.Health", services);
        Assert.Contains("grpc.reflection.v1.ServerReflection", services);
        var messages = files.SelectMany(f => f.MessageTypes).Select(m => m.FullName).ToList();
        Assert.Contains("google.rpc.Status", messages);
        Assert.Contains("google.rpc.ErrorInfo", messages);
        Assert.Contains("google.rpc.BadRequest", messages);
    }
}
