using System.Reflection;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Microsoft.Extensions.DependencyInjection;

namespace FlashDeal.Grpc;

/// <summary>
/// One RPC of a mapped service: its protobuf descriptor plus the invoker that activates the implementation and runs the
/// interceptor pipeline. gRPC and JSON transcoding both call through it, so both see the same behaviour.
/// </summary>
public abstract class ServiceMethod
{
    private protected ServiceMethod(MethodDescriptor descriptor, Type serviceType, MethodInfo? implementation)
    {
        Descriptor = descriptor;
        ServiceType = serviceType;
        Implementation = implementation;
        Type = (descriptor.IsClientStreaming, descriptor.IsServerStreaming) switch
        {
            (false, false) => MethodType.Unary,
            (false, true) => MethodType.ServerStreaming,
            (true, false) => MethodType.ClientStreaming,
            (true, true) => MethodType.DuplexStreaming,
        };
        FullName = $"/{descriptor.Service.FullName}/{descriptor.Name}";
    }

    public MethodDescriptor Descriptor { get; }

    public Type ServiceType { get; }

    /// <summary>The C# method bound to this RPC (for attributes such as [Authorize]); null when not implemented.</summary>
    public MethodInfo? Implementation { get; }

    public MethodType Type { get; }

    /// <summary>"/package.Service/Method", the HTTP/2 path.</summary>
    public string FullName { get; }

    public string ServiceName => Descriptor.Service.FullName;

    public string MethodName => Descriptor.Name;

    /// <summary>False when the service class has no method for this RPC: calls answer UNIMPLEMENTED.</summary>
    public abstract bool IsImplemented { get; }

    public abstract Type RequestType { get; }

    public abstract Type ResponseType { get; }

    /// <summary>Handles one HTTP/2 gRPC request for this method.</summary>
    internal abstract Task HandleGrpcAsync(Microsoft.AspNetCore.Http.HttpContext httpContext, GrpcServerRuntime runtime);

    internal static ServiceMethod Create(MethodDescriptor descriptor, Type serviceType, MethodInfo? implementation,
        IReadOnlyList<Type> interceptors)
    {
        var requestType = descriptor.InputType.ClrType;
        var responseType = descriptor.OutputType.ClrType;
        var type = typeof(ServiceMethod<,,>).MakeGenericType(serviceType, requestType, responseType);
        return (ServiceMethod)Activator.CreateInstance(type, descriptor, implementation, interceptors)!;
    }
}

public sealed class ServiceMethod<TService, TRequest, TResponse> : ServiceMethod
    where TService : class
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    private static readonly ObjectFactory ServiceFactory =
        ActivatorUtilities.CreateFactory(typeof(TService), System.Type.EmptyTypes);

    private readonly bool _implemented;

    public ServiceMethod(MethodDescriptor descriptor, MethodInfo? implementation, IReadOnlyList<Type> interceptors)
        : base(descriptor, typeof(TService), implementation)
    {
        _implemented = implementation is not null;
        Unary = Wrap(Bind<Func<TService, TRequest, ServerCallContext, Task<TResponse>>>(implementation, MethodType.Unary),
            interceptors);
        ServerStreaming = Wrap(
            Bind<Func<TService, TRequest, IServerStreamWriter<TResponse>, ServerCallContext, Task>>(implementation,
                MethodType.ServerStreaming), interceptors);
        ClientStreaming = Wrap(
            Bind<Func<TService, IAsyncStreamReader<TRequest>, ServerCallContext, Task<TResponse>>>(implementation,
                MethodType.ClientStreaming), interceptors);
        DuplexStreaming = Wrap(
            Bind<Func<TService, IAsyncStreamReader<TRequest>, IServerStreamWriter<TResponse>, ServerCallContext, Task>>(
                implementation, MethodType.DuplexStreaming), interceptors);
    }

    public override bool IsImplemented => _implemented;

    public override Type RequestType => typeof(TRequest);

    public override Type ResponseType => typeof(TResponse);

    public static MessageParser<TRequest> RequestParser { get; } = new(() => new TRequest());

    public static MessageParser<TResponse> ResponseParser { get; } = new(() => new TResponse());

    /// <summary>The whole pipeline (interceptors, then the implementation) for a unary call.</summary>
    public UnaryServerMethod<TRequest, TResponse> Unary { get; }

    public ServerStreamingServerMethod<TRequest, TResponse> ServerStreaming { get; }

    public ClientStreamingServerMethod<TRequest, TResponse> ClientStreaming { get; }

    public DuplexStreamingServerMethod<TRequest, TResponse> DuplexStreaming { get; }

    internal override Task HandleGrpcAsync(Microsoft.AspNetCore.Http.HttpContext httpContext, GrpcServerRuntime runtime) =>
        GrpcCallHandler<TRequest, TResponse>.HandleAsync(httpContext, runtime, this);

    private TDelegate? Bind<TDelegate>(MethodInfo? implementation, MethodType expected) where TDelegate : Delegate
    {
        if (implementation is null || Type != expected)
        {
            return null;
        }
        try
        {
            return implementation.CreateDelegate<TDelegate>();
        }
        catch (ArgumentException)
        {
            throw new InvalidOperationException(
                $"{typeof(TService).Name}.{implementation.Name} does not match the {Type} signature of {FullName}. " +
                $"Expected {DescribeSignature()}.");
        }
    }

    internal string DescribeSignature() => Type switch
    {
        MethodType.Unary => $"Task<{typeof(TResponse).Name}> {MethodName}({typeof(TRequest).Name}, ServerCallContext)",
        MethodType.ServerStreaming =>
            $"Task {MethodName}({typeof(TRequest).Name}, IServerStreamWriter<{typeof(TResponse).Name}>, ServerCallContext)",
        MethodType.ClientStreaming =>
            $"Task<{typeof(TResponse).Name}> {MethodName}(IAsyncStreamReader<{typeof(TRequest).Name}>, ServerCallContext)",
        _ => $"Task {MethodName}(IAsyncStreamReader<{typeof(TRequest).Name}>, IServerStreamWriter<{typeof(TResponse).Name}>, ServerCallContext)",
    };

    private static TService Activate(ServerCallContext context)
    {
        var services = context.GetHttpContext().RequestServices;
        return services.GetService<TService>() ?? (TService)ServiceFactory(services, null);
    }

    private static Interceptor ResolveInterceptor(Type type, ServerCallContext context) =>
        (Interceptor)ActivatorUtilities.GetServiceOrCreateInstance(context.GetHttpContext().RequestServices, type);

    private RpcException NotImplemented() => new(StatusCode.Unimplemented, $"Method is unimplemented: {FullName}");

    private UnaryServerMethod<TRequest, TResponse> Wrap(Func<TService, TRequest, ServerCallContext, Task<TResponse>>? impl,
        IReadOnlyList<Type> interceptors)
    {
        UnaryServerMethod<TRequest, TResponse> next = impl is null
            ? (_, _) => Task.FromException<TResponse>(NotImplemented())
            : (request, context) => impl(Activate(context), request, context);
        for (var i = interceptors.Count - 1; i >= 0; i--)
        {
            var (type, inner) = (interceptors[i], next);
            next = (request, context) => ResolveInterceptor(type, context).UnaryServerHandler(request, context, inner);
        }
        return next;
    }

    private ServerStreamingServerMethod<TRequest, TResponse> Wrap(
        Func<TService, TRequest, IServerStreamWriter<TResponse>, ServerCallContext, Task>? impl,
        IReadOnlyList<Type> interceptors)
    {
        ServerStreamingServerMethod<TRequest, TResponse> next = impl is null
            ? (_, _, _) => Task.FromException(NotImplemented())
            : (request, stream, context) => impl(Activate(context), request, stream, context);
        for (var i = interceptors.Count - 1; i >= 0; i--)
        {
            var (type, inner) = (interceptors[i], next);
            next = (request, stream, context) =>
                ResolveInterceptor(type, context).ServerStreamingServerHandler(request, stream, context, inner);
        }
        return next;
    }

    private ClientStreamingServerMethod<TRequest, TResponse> Wrap(
        Func<TService, IAsyncStreamReader<TRequest>, ServerCallContext, Task<TResponse>>? impl,
        IReadOnlyList<Type> interceptors)
    {
        ClientStreamingServerMethod<TRequest, TResponse> next = impl is null
            ? (_, _) => Task.FromException<TResponse>(NotImplemented())
            : (requests, context) => impl(Activate(context), requests, context);
        for (var i = interceptors.Count - 1; i >= 0; i--)
        {
            var (type, inner) = (interceptors[i], next);
            next = (requests, context) =>
                ResolveInterceptor(type, context).ClientStreamingServerHandler(requests, context, inner);
        }
        return next;
    }

    private DuplexStreamingServerMethod<TRequest, TResponse> Wrap(
        Func<TService, IAsyncStreamReader<TRequest>, IServerStreamWriter<TResponse>, ServerCallContext, Task>? impl,
        IReadOnlyList<Type> interceptors)
    {
        DuplexStreamingServerMethod<TRequest, TResponse> next = impl is null
            ? (_, _, _) => Task.FromException(NotImplemented())
            : (requests, stream, context) => impl(Activate(context), requests, stream, context);
        for (var i = interceptors.Count - 1; i >= 0; i--)
        {
            var (type, inner) = (interceptors[i], next);
            next = (requests, stream, context) =>
                ResolveInterceptor(type, context).DuplexStreamingServerHandler(requests, stream, context, inner);
        }
        return next;
    }
}
