using FlashDeal.Grpc.Testing;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Reflection.V1;
using V1Alpha = Grpc.Reflection.V1Alpha;

namespace FlashDeal.Grpc.Tests.IntegrationTests;

public sealed class ServerReflectionTests : IAsyncLifetime
{
    private const string V1Path = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
    private const string V1AlphaPath = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";


    private EchoServerHost _host = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _host = await EchoServerHost.StartAsync();
        _client = H2cTestCall<ServerReflectionResponse>.CreateClient(_host.GrpcAddress);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task ListServicesNamesEveryMappedServiceIncludingHealthAndReflection()
    {
        await using var call = Start();
        var response = await AskAsync(call, new ServerReflectionRequest { Host = "h", ListServices = "" });
        Assert.Equal(EchoServerHost.MappedServices, response.ListServicesResponse.Service.Select(s => s.Name));
        Assert.Equal("h", response.ValidHost);
        Assert.Equal(ServerReflectionRequest.MessageRequestOneofCase.ListServices,
            response.OriginalRequest.MessageRequestCase);
    }

    [Fact]
    public async Task V1AlphaAnswersLikeV1()
    {
        await using var call = new H2cTestCall<V1Alpha.ServerReflectionResponse>(_client, V1AlphaPath,
            V1Alpha.ServerReflectionResponse.Parser);
        await call.SendAsync(new V1Alpha.ServerReflectionRequest { ListServices = "*" });
        var response = await call.ReadAsync();
        Assert.Equal(EchoServerHost.MappedServices, response!.ListServicesResponse.Service.Select(s => s.Name));
    }

    [Fact]
    public async Task FileContainingAServiceComesWithDependenciesThatBuildIntoDescriptors()
    {
        await using var call = Start();
        var response = await AskAsync(call,
            new ServerReflectionRequest { FileContainingSymbol = "flashdeal.testing.v1.EchoService" });
        var protos = response.FileDescriptorResponse.FileDescriptorProto;
        var names = protos.Select(p => FileDescriptorProto.Parser.ParseFrom(p).Name).ToList();
        Assert.Equal("flashdeal/testing/v1/echo.proto", names[0]);
        Assert.Contains("google/api/annotations.proto", names);
        Assert.Contains("google/protobuf/descriptor.proto", names);

        var files = FileDescriptor.BuildFromByteStrings(protos.Reverse());
        var service = files.SelectMany(f => f.Services).Single();
        Assert.Contains(service.Methods, m => m.Name == "Expand" && m.IsServerStreaming);
    }

    [Fact]
    public async Task ErrorDetailTypesAreServedForClientsThatDecodeStatusDetails()
    {
        await using var call = Start();
        var response = await AskAsync(call, new ServerReflectionRequest { FileContainingSymbol = "google.rpc.ErrorInfo" });
        Assert.Equal("google/rpc/error_details.proto",
            FileDescriptorProto.Parser.ParseFrom(response.FileDescriptorResponse.FileDescriptorProto[0]).Name);
    }

    [Fact]
    public async Task UnknownNamesAnswerNotFoundAndTheStreamKeepsServing()
    {
        await using var call = Start();
        var symbol = await AskAsync(call, new ServerReflectionRequest { FileContainingSymbol = "no.such.Thing" });
        Assert.Equal((int)StatusCode.NotFound, symbol.ErrorResponse.ErrorCode);
        var file = await AskAsync(call, new ServerReflectionRequest { FileByFilename = "no/such.proto" });
        Assert.Equal((int)StatusCode.NotFound, file.ErrorResponse.ErrorCode);
        var type = await AskAsync(call, new ServerReflectionRequest { AllExtensionNumbersOfType = "no.such.Type" });
        Assert.Equal((int)StatusCode.NotFound, type.ErrorResponse.ErrorCode);
        var extension = await AskAsync(call, new ServerReflectionRequest
        {
            FileContainingExtension = new ExtensionRequest { ContainingType = "google.protobuf.MethodOptions", ExtensionNumber = 1 },
        });
        Assert.Equal((int)StatusCode.NotFound, extension.ErrorResponse.ErrorCode);

        var byName = await AskAsync(call, new ServerReflectionRequest { FileByFilename = "grpc/health/v1/health.proto" });
        Assert.Single(byName.FileDescriptorResponse.FileDescriptorProto);
        call.CompleteRequest();
        Assert.Equal(StatusCode.OK, (await call.ReadStatusAsync()).Code);
    }

    [Fact]
    public async Task ExtensionsAreFoundByTypeAndNumber()
    {
        await using var call = Start();
        var numbers = await AskAsync(call,
            new ServerReflectionRequest { AllExtensionNumbersOfType = "google.protobuf.MethodOptions" });
        Assert.Equal("google.protobuf.MethodOptions", numbers.AllExtensionNumbersResponse.BaseTypeName);
        Assert.Contains(72295728, numbers.AllExtensionNumbersResponse.ExtensionNumber);

        var file = await AskAsync(call, new ServerReflectionRequest
        {
            FileContainingExtension = new ExtensionRequest
            {
                ContainingType = "google.protobuf.MethodOptions",
                ExtensionNumber = 72295728,
            },
        });
        Assert.Equal("google/api/annotations.proto",
            FileDescriptorProto.Parser.ParseFrom(file.FileDescriptorResponse.FileDescriptorProto[0]).Name);
    }

    private H2cTestCall<ServerReflectionResponse> Start() => new(_client, V1Path, ServerReflectionResponse.Parser);

    private static async Task<ServerReflectionResponse> AskAsync(H2cTestCall<ServerReflectionResponse> call,
        ServerReflectionRequest request)
    {
        await call.SendAsync(request);
        return await call.ReadAsync() ?? throw new InvalidOperationException("The reflection stream ended early.");
    }
}
