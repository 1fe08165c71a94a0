using System.Collections.Concurrent;
using FlashDeal.Load;
using FlashDeal.LoadTool.Api;
using FlashDeal.LoadTool.Cli;
using FlashDeal.LoadTool.Scenarios;

namespace FlashDeal.LoadTool.Tests.Infrastructure;

/// <summary>One recorded call.</summary>
public sealed record RecordedCall(string Operation, TimeSpan Latency, string Outcome, bool Expected);

/// <summary>Keeps every call an iteration records, for assertions on outcomes.</summary>
public sealed class CallLog : IOperationRecorder
{
    private readonly ConcurrentQueue<RecordedCall> _calls = new();

    public IReadOnlyCollection<RecordedCall> Calls => _calls;

    public void Record(string operation, TimeSpan latency, string outcome, bool expected = false) =>
        _calls.Enqueue(new RecordedCall(operation, latency, outcome, expected));

    public int Count(string operation, string outcome) => _calls.Count(c => c.Operation == operation && c.Outcome == outcome);
}

/// <summary>
/// Runs a scenario's own pieces (set-up, a fixed number of iterations at a fixed concurrency, the checks) without the
/// engine, so the scenarios are tested on their own; the end-to-end tests go through LoadCommand and the engine.
/// </summary>
public static class ScenarioDriver
{
    public static ToolOptions Options(MeshFixture mesh, string scenario, string transport, params string[] extra) =>
        ToolOptions.Parse([scenario, "--transport", transport, .. MeshArgs(mesh), .. extra], _ => null);

    /// <summary>The mesh's addresses, stores and admin as command-line options.</summary>
    public static string[] MeshArgs(MeshFixture mesh) =>
    [
        "--auth-grpc", mesh.Grpc.Auth.ToString(), "--catalog-grpc", mesh.Grpc.Catalog.ToString(),
        "--orders-grpc", mesh.Grpc.Orders.ToString(),
        "--auth-rest", mesh.Rest.Auth.ToString(), "--catalog-rest", mesh.Rest.Catalog.ToString(),
        "--orders-rest", mesh.Rest.Orders.ToString(),
        "--postgres", mesh.Postgres, "--redis", mesh.Redis,
        "--admin-email", MeshFixture.AdminEmail, "--admin-password", MeshFixture.AdminPassword,
    ];

    public static (Scenario Scenario, ScenarioContext Context, IApiTransport Transport) Create(ToolOptions options)
    {
        var transport = LoadCommand.CreateTransport(options);
        var context = new ScenarioContext(options, new FlashDealClient(transport, options.CallTimeout), TextWriter.Null);
        return (ScenarioFactory.Create(options.Scenario, context), context, transport);
    }

    public static async Task<CallLog> IterateAsync(Scenario scenario, int iterations, int concurrency)
    {
        var log = new CallLog();
        await Parallel.ForEachAsync(Enumerable.Range(0, iterations), new ParallelOptions { MaxDegreeOfParallelism = concurrency },
            async (i, ct) => await scenario.IterateAsync(new TestIteration(i, i % concurrency, log), ct));
        return log;
    }

    private sealed class TestIteration(long iteration, int virtualUser, IOperationRecorder recorder) : IIterationContext
    {
        public long Iteration { get; } = iteration;

        public int VirtualUser { get; } = virtualUser;

        public string Stage => "test";

        public IOperationRecorder Recorder { get; } = recorder;
    }
}
