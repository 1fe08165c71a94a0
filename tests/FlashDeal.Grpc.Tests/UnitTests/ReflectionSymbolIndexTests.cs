using FlashDeal.Grpc.Testing.V1;
using Google.Protobuf.Reflection;
using Grpc.Health.V1;

namespace FlashDeal.Grpc.Tests.UnitTests;

public class ReflectionSymbolIndexTests
{
    private const string EchoFile = "flashdeal/testing/v1/echo.proto";
    private const string MethodOptions = "google.protobuf.MethodOptions";
    private const int HttpExtensionNumber = 72295728;

    private static readonly ReflectionSymbolIndex Index = new(
    [
        EchoReflection.Descriptor,
        HealthReflection.Descriptor,
        Google.Rpc.ErrorDetailsReflection.Descriptor,
        Google.Rpc.CodeReflection.Descriptor,
    ]);

    [Theory]
    [InlineData("flashdeal.testing.v1.EchoService", EchoFile)]
    [InlineData("flashdeal.testing.v1.EchoService.Expand", EchoFile)]
    [InlineData("flashdeal.testing.v1.EchoRequest", EchoFile)]
    [InlineData("flashdeal.testing.v1.EchoRequest.message", EchoFile)]
    [InlineData("flashdeal.testing.v1", EchoFile)]
    [InlineData("grpc.health.v1.Health.Watch", "grpc/health/v1/health.proto")]
    [InlineData("grpc.health.v1.HealthCheckResponse.ServingStatus", "grpc/health/v1/health.proto")]
    [InlineData("grpc.health.v1.HealthCheckResponse.SERVING", "grpc/health/v1/health.proto")]
    [InlineData("grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING", "grpc/health/v1/health.proto")]
    [InlineData("google.rpc.BadRequest.FieldViolation", "google/rpc/error_details.proto")]
    [InlineData("google.rpc.BadRequest.FieldViolation.field", "google/rpc/error_details.proto")]
    [InlineData("google.rpc.Code", "google/rpc/code.proto")]
    [InlineData("google.rpc.RESOURCE_EXHAUSTED", "google/rpc/code.proto")]
    [InlineData("google.api.http", "google/api/annotations.proto")]
    [InlineData("google.api.HttpRule.pattern", "google/api/http.proto")]
    [InlineData("google.protobuf.MethodOptions", "google/protobuf/descriptor.proto")]
    [InlineData("google.protobuf.Duration", "google/protobuf/duration.proto")]
    public void FullyQualifiedSymbolsResolveToTheirDeclaringFile(string symbol, string file) =>
        Assert.Equal(file, Index.FindFileContainingSymbol(symbol)?.Name);

    [Theory]
    [InlineData("EchoService")]
    [InlineData("flashdeal.testing.v1.Missing")]
    [InlineData("flashdeal.testing.v1.EchoService.Missing")]
    [InlineData(".flashdeal.testing.v1.EchoService")]
    public void UnknownOrRelativeSymbolsAreNotFound(string symbol) => Assert.Null(Index.FindFileContainingSymbol(symbol));

    [Fact]
    public void FilesAreFoundByNameIncludingDependencies()
    {
        Assert.Same(EchoReflection.Descriptor, Index.FindFileByName(EchoFile));
        Assert.NotNull(Index.FindFileByName("google/api/http.proto"));
        Assert.NotNull(Index.FindFileByName("google/protobuf/descriptor.proto"));
        Assert.Null(Index.FindFileByName("flashdeal/testing/v1/missing.proto"));
    }

    [Fact]
    public void ExtensionsAreFoundByExtendedTypeAndNumber()
    {
        Assert.Equal("google/api/annotations.proto",
            Index.FindFileContainingExtension(MethodOptions, HttpExtensionNumber)?.Name);
        Assert.Null(Index.FindFileContainingExtension(MethodOptions, 1));
        Assert.Contains(HttpExtensionNumber, Index.FindExtensionNumbers(MethodOptions)!);
        Assert.Empty(Index.FindExtensionNumbers("flashdeal.testing.v1.EchoRequest")!);
        Assert.Null(Index.FindExtensionNumbers("flashdeal.testing.v1.Missing"));
    }

    [Fact]
    public void FileComesFirstThenEachTransitiveDependencyOnce()
    {
        var files = ReflectionSymbolIndex.WithDependencies(EchoReflection.Descriptor).Select(f => f.Name).ToList();
        Assert.Equal(EchoFile, files[0]);
        Assert.Equal(
            ["google/api/annotations.proto", "google/api/http.proto", "google/protobuf/descriptor.proto"],
            files.Skip(1).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void SerializedFilesRebuildIntoWorkingDescriptors()
    {
        var files = ReflectionSymbolIndex.WithDependencies(EchoReflection.Descriptor);
        // BuildFromByteStrings wants dependencies before dependents.
        var rebuilt = FileDescriptor.BuildFromByteStrings(files.Reverse().Select(f => f.SerializedData));
        var echo = rebuilt.Single(f => f.Name == EchoFile);
        Assert.Equal(EchoReflection.Descriptor.Services[0].Methods.Select(m => m.Name),
            echo.Services.Single().Methods.Select(m => m.Name));
    }
}
