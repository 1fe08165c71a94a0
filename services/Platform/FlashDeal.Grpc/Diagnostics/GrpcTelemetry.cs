using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace FlashDeal.Grpc;

/// <summary>
/// The runtime's ActivitySource and Meter, both named "FlashDeal.Grpc", tagged with the OpenTelemetry RPC conventions
/// (rpc.system, rpc.service, rpc.method, rpc.grpc.status_code). Trace context travels as W3C traceparent metadata:
/// ASP.NET Core extracts it on the server, SocketsHttpHandler injects it on the client.
/// </summary>
public static class GrpcTelemetry
{
    public const string Name = "FlashDeal.Grpc";

    public static readonly ActivitySource ActivitySource = new(Name);

    public static readonly Meter Meter = new(Name);

    private static readonly Histogram<double> ServerDuration = Meter.CreateHistogram<double>(
        "rpc.server.call.duration", unit: "s", description: "Duration of server calls, by method and status.");

    private static readonly Histogram<double> ClientDuration = Meter.CreateHistogram<double>(
        "rpc.client.call.duration", unit: "s", description: "Duration of client calls, by method and status.");

    internal static Activity? StartServerActivity(ServiceMethod method)
    {
        if (!ActivitySource.HasListeners())
        {
            return null;
        }
        var activity = ActivitySource.StartActivity(method.FullName[1..], ActivityKind.Server);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("rpc.system", "grpc");
            activity.SetTag("rpc.service", method.ServiceName);
            activity.SetTag("rpc.method", method.MethodName);
        }
        return activity;
    }

    internal static void RecordServerCall(ServiceMethod method, StatusCode code, long startedTimestamp, Activity? activity)
    {
        activity?.SetTag("rpc.grpc.status_code", (int)code);
        if (code != StatusCode.OK)
        {
            activity?.SetStatus(ActivityStatusCode.Error, code.ToString());
        }
        if (ServerDuration.Enabled)
        {
            ServerDuration.Record(Stopwatch.GetElapsedTime(startedTimestamp).TotalSeconds,
                new KeyValuePair<string, object?>("rpc.system", "grpc"),
                new KeyValuePair<string, object?>("rpc.service", method.ServiceName),
                new KeyValuePair<string, object?>("rpc.method", method.MethodName),
                new KeyValuePair<string, object?>("rpc.grpc.status_code", (int)code));
        }
    }

    internal static Activity? StartClientActivity(string service, string method)
    {
        if (!ActivitySource.HasListeners())
        {
            return null;
        }
        var activity = ActivitySource.StartActivity($"{service}/{method}", ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("rpc.system", "grpc");
            activity.SetTag("rpc.service", service);
            activity.SetTag("rpc.method", method);
        }
        return activity;
    }

    internal static void RecordClientCall(string service, string method, StatusCode code, long startedTimestamp,
        Activity? activity)
    {
        activity?.SetTag("rpc.grpc.status_code", (int)code);
        if (code != StatusCode.OK)
        {
            activity?.SetStatus(ActivityStatusCode.Error, code.ToString());
        }
        if (ClientDuration.Enabled)
        {
            ClientDuration.Record(Stopwatch.GetElapsedTime(startedTimestamp).TotalSeconds,
                new KeyValuePair<string, object?>("rpc.system", "grpc"),
                new KeyValuePair<string, object?>("rpc.service", service),
                new KeyValuePair<string, object?>("rpc.method", method),
                new KeyValuePair<string, object?>("rpc.grpc.status_code", (int)code));
        }
    }
}
