using System.Reflection;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace FlashDeal.Grpc;

/// <summary>Every service mapped on this server, with its methods: the source for routing, transcoding and reflection.</summary>
public sealed class GrpcServiceRegistry
{
    private readonly List<ServiceModel> _services = [];
    private readonly object _gate = new();
    private int _fallbackMapped;

    /// <summary>True exactly once: whoever gets it maps the UNIMPLEMENTED fallback route.</summary>
    internal bool TryClaimFallback() => Interlocked.Exchange(ref _fallbackMapped, 1) == 0;

    public IReadOnlyList<ServiceModel> Services
    {
        get
        {
            lock (_gate)
            {
                return _services.ToArray();
            }
        }
    }

    public void Add(ServiceModel service)
    {
        lock (_gate)
        {
            if (_services.Any(s => s.Descriptor.FullName == service.Descriptor.FullName))
            {
                throw new InvalidOperationException($"Service {service.Descriptor.FullName} is mapped twice.");
            }
            _services.Add(service);
        }
    }

    /// <summary>Builds the model of <typeparamref name="TService"/> from its [GrpcService] name and method signatures.</summary>
    public static ServiceModel Build(Type serviceType, IReadOnlyList<Type> interceptors)
    {
        var attribute = serviceType.GetCustomAttribute<GrpcServiceAttribute>()
            ?? throw new InvalidOperationException(
                $"{serviceType.Name} needs [GrpcService(\"package.Service\")] naming the protobuf service it implements.");
        var descriptor = FindDescriptor(serviceType, attribute.FullName)
            ?? throw new InvalidOperationException(
                $"No protobuf service named {attribute.FullName} was found in the files of {serviceType.Name}'s message types.");
        var methods = new List<ServiceMethod>();
        foreach (var method in descriptor.Methods)
        {
            var implementation = serviceType.GetMethod(method.Name, BindingFlags.Public | BindingFlags.Instance);
            methods.Add(ServiceMethod.Create(method, serviceType, implementation, interceptors));
        }
        return new ServiceModel(descriptor, serviceType, methods);
    }

    /// <summary>Finds a service descriptor through the message types the class's methods take or return.</summary>
    private static ServiceDescriptor? FindDescriptor(Type serviceType, string fullName)
    {
        var seen = new HashSet<FileDescriptor>();
        foreach (var method in serviceType.GetMethods(BindingFlags.Public | BindingFlags.Instance))
        {
            var types = method.GetParameters().Select(p => p.ParameterType).Append(method.ReturnType);
            foreach (var type in types)
            {
                foreach (var candidate in Unwrap(type))
                {
                    if (!typeof(IMessage).IsAssignableFrom(candidate))
                    {
                        continue;
                    }
                    var file = (candidate.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static)
                        ?.GetValue(null) as MessageDescriptor)?.File;
                    if (file is null || !seen.Add(file))
                    {
                        continue;
                    }
                    var found = file.Services.FirstOrDefault(s => s.FullName == fullName);
                    if (found is not null)
                    {
                        return found;
                    }
                }
            }
        }
        return null;
    }

    private static IEnumerable<Type> Unwrap(Type type)
    {
        yield return type;
        if (type.IsGenericType)
        {
            foreach (var arg in type.GetGenericArguments())
            {
                foreach (var inner in Unwrap(arg))
                {
                    yield return inner;
                }
            }
        }
    }
}

/// <summary>A mapped service: its descriptor, implementation type and methods.</summary>
public sealed record ServiceModel(ServiceDescriptor Descriptor, Type ServiceType, IReadOnlyList<ServiceMethod> Methods);
