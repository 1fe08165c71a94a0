using Google.Protobuf.Reflection;
using Grpc.Reflection.V1;
using Microsoft.Extensions.Options;

namespace FlashDeal.Grpc;

/// <summary>Answers server reflection requests (v1 messages) from the services in the registry.</summary>
internal sealed class ServerReflectionHandler(GrpcServiceRegistry registry, IOptions<GrpcReflectionOptions> options)
{
    private IndexCache? _cache;

    public ServerReflectionResponse Handle(ServerReflectionRequest request)
    {
        var response = new ServerReflectionResponse { ValidHost = request.Host, OriginalRequest = request };
        var services = registry.Services;
        var index = GetIndex(services);
        switch (request.MessageRequestCase)
        {
            case ServerReflectionRequest.MessageRequestOneofCase.ListServices:
                var list = new ListServiceResponse();
                foreach (var name in services.Select(s => s.Descriptor.FullName).Order(StringComparer.Ordinal))
                {
                    list.Service.Add(new ServiceResponse { Name = name });
                }
                response.ListServicesResponse = list;
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.FileByFilename:
                SetFile(response, index.FindFileByName(request.FileByFilename), $"File not found: {request.FileByFilename}");
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.FileContainingSymbol:
                SetFile(response, index.FindFileContainingSymbol(request.FileContainingSymbol),
                    $"Symbol not found: {request.FileContainingSymbol}");
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.FileContainingExtension:
                var extension = request.FileContainingExtension;
                SetFile(response, index.FindFileContainingExtension(extension.ContainingType, extension.ExtensionNumber),
                    $"Extension not found: {extension.ContainingType}({extension.ExtensionNumber})");
                break;
            case ServerReflectionRequest.MessageRequestOneofCase.AllExtensionNumbersOfType:
                var type = request.AllExtensionNumbersOfType;
                if (index.FindExtensionNumbers(type) is { } numbers)
                {
                    response.AllExtensionNumbersResponse = new ExtensionNumberResponse
                    {
                        BaseTypeName = type,
                        ExtensionNumber = { numbers },
                    };
                }
                else
                {
                    SetError(response, StatusCode.NotFound, $"Type not found: {type}");
                }
                break;
            default:
                SetError(response, StatusCode.InvalidArgument, "The request sets no message_request.");
                break;
        }
        return response;
    }

    private ReflectionSymbolIndex GetIndex(IReadOnlyList<ServiceModel> services)
    {
        // Services are mapped at startup; rebuild only if one was added since.
        if (Volatile.Read(ref _cache) is { } cache && cache.ServiceCount == services.Count)
        {
            return cache.Index;
        }
        var index = new ReflectionSymbolIndex(
            services.Select(s => s.Descriptor.File).Concat(options.Value.AdditionalFiles));
        Volatile.Write(ref _cache, new IndexCache(services.Count, index));
        return index;
    }

    private static void SetFile(ServerReflectionResponse response, FileDescriptor? file, string notFound)
    {
        if (file is null)
        {
            SetError(response, StatusCode.NotFound, notFound);
            return;
        }
        var files = new FileDescriptorResponse();
        foreach (var f in ReflectionSymbolIndex.WithDependencies(file))
        {
            files.FileDescriptorProto.Add(f.SerializedData);
        }
        response.FileDescriptorResponse = files;
    }

    private static void SetError(ServerReflectionResponse response, StatusCode code, string message) =>
        response.ErrorResponse = new ErrorResponse { ErrorCode = (int)code, ErrorMessage = message };

    private sealed record IndexCache(int ServiceCount, ReflectionSymbolIndex Index);
}
