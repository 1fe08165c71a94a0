using System.Collections.Concurrent;
using System.Diagnostics;

namespace FlashDeal.Load.Tests;

// The schedulers against the real clock. Counts come from the integrated rate, so they hold on a busy 2-core machine (load
// average above 10 while other builds run); timing checks only use what a late scheduler cannot break: a start is never
// early, and a stall is caught up.
public class LoadRunnerTests
{
    private static LoadOptions Quiet() => new() { Quiet = true, Timeout = TimeSpan.FromSeconds(20) };

    private static LoadPlan Arrival(params StagePlan[] stages) => new("test", LoadMode.ArrivalRate, stages);

    [Fact]
    public async Task ArrivalRateHoldStartsTheRateTimesTheDuration()
    {
        var starts = new ConcurrentQueue<long>();
        var clock = Stopwatch.StartNew();

        var result = await LoadRunner.RunAsync(Arrival(new StagePlan("hold", TimeSpan.FromSeconds(2), 400, Ramp: false)),
            (context, _) =>
            {
                starts.Enqueue(clock.ElapsedMilliseconds);
                context.Recorder.Record("noop", TimeSpan.FromMicroseconds(100), "OK");
                return ValueTask.CompletedTask;
            }, Quiet(), CancellationToken.None);

        Assert.InRange(result.IterationsStarted, 720, 880);
        Assert.Equal(result.IterationsStarted, starts.Count);
        Assert.Equal(result.IterationsStarted, result.IterationsCompleted);
        Assert.Equal(StopReason.Completed, result.StoppedBy);
        Assert.Equal(0, result.Dropped);
        // Spread over the stage, not bunched at its start: never more started by a time than were due by then.
        Assert.InRange(starts.Count(ms => ms < 500), 0, 200);
        Assert.InRange(starts.Count(ms => ms < 1000), 0, 400);
        Assert.Equal(result.IterationsStarted, result.Operation("noop")!.Count);
        Assert.Equal(result.IterationsStarted, Assert.Single(result.Stages).IterationsStarted);
    }

    [Fact]
    public async Task ArrivalRateRampIntegratesTheLine()
    {
        var starts = new ConcurrentQueue<long>();
        var clock = Stopwatch.StartNew();

        // 0 → 600/s over 2 s: 600 in all, a quarter of them in the first second.
        var result = await LoadRunner.RunAsync(Arrival(new StagePlan("ramp", TimeSpan.FromSeconds(2), 600)),
            (_, _) =>
            {
                starts.Enqueue(clock.ElapsedMilliseconds);
                return ValueTask.CompletedTask;
            }, Quiet(), CancellationToken.None);

        Assert.InRange(result.IterationsStarted, 540, 660);
        // ∫₀¹ 300t dt = 150 are due in the first second (a hold would have started 300).
        Assert.InRange(starts.Count(ms => ms < 1000), 0, 150);
    }

    [Fact]
    public async Task ArrivalRateAttributesStartsToTheirStages()
    {
        var result = await LoadRunner.RunAsync(Arrival(
                new StagePlan("slow", TimeSpan.FromMilliseconds(600), 100, Ramp: false),
                new StagePlan("fast", TimeSpan.FromMilliseconds(600), 500, Ramp: false)),
            (context, _) =>
            {
                context.Recorder.Record("op", TimeSpan.FromMilliseconds(1), "OK");
                return ValueTask.CompletedTask;
            }, Quiet(), CancellationToken.None);

        Assert.Equal(60, result.Stages[0].IterationsStarted);
        Assert.Equal(300, result.Stages[1].IterationsStarted);
        Assert.Equal(60, Assert.Single(result.InStage("slow")).Count);
        Assert.Equal(300, Assert.Single(result.InStage("fast")).Count);
        Assert.All(result.Stages, s => Assert.True(s.WallTime > TimeSpan.Zero));
        Assert.Equal(result.ScheduledTime.TotalMilliseconds, result.Stages.Sum(s => s.WallTime.TotalMilliseconds), 1.0);
    }

    [Fact]
    public async Task ArrivalRateDropsWhatCannotStartWhenMaxInFlightIsBusy()
    {
        using var release = new CancellationTokenSource();
        var plan = Arrival(new StagePlan("hold", TimeSpan.FromSeconds(1), 200, Ramp: false)) with { MaxInFlight = 5 };

        var result = await LoadRunner.RunAsync(plan, async (_, cancellationToken) =>
        {
            // Every iteration outlives the stage, so only the first five ever start.
            await Task.Delay(TimeSpan.FromSeconds(1.5), cancellationToken);
        }, Quiet(), CancellationToken.None);

        Assert.Equal(5, result.IterationsStarted);
        Assert.Equal(5, result.PeakInFlight);
        Assert.Equal(195, result.Dropped);
        Assert.Equal(result.Dropped, result.Stages[0].Dropped);
        Assert.Equal(5, result.IterationsCompleted);
    }

    [Fact]
    public async Task ClosedLoopRunsExactlyTheTargetNumberOfVirtualUsers()
    {
        var running = 0;
        var most = 0;
        var users = new ConcurrentDictionary<int, int>();
        var plan = new LoadPlan("closed", LoadMode.ClosedLoop, [new StagePlan("hold", TimeSpan.FromSeconds(1.5), 8, Ramp: false)]);

        var result = await LoadRunner.RunAsync(plan, async (context, cancellationToken) =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref most, now);
            users.AddOrUpdate(context.VirtualUser, 1, (_, n) => n + 1);
            await Task.Delay(2, cancellationToken);
            Interlocked.Decrement(ref running);
        }, Quiet(), CancellationToken.None);

        Assert.Equal(8, most);
        Assert.Equal(8, result.PeakInFlight);
        Assert.Equal(Enumerable.Range(0, 8), users.Keys.Order());
        Assert.True(result.IterationsStarted >= 2 * 8, $"{result.IterationsStarted} iterations"); // they loop
        Assert.Equal(result.IterationsStarted, result.IterationsCompleted);
        Assert.Equal(0, result.Dropped);
    }

    [Fact]
    public async Task ClosedLoopRampsUsersUpAndDown()
    {
        var running = 0;
        var samples = new ConcurrentQueue<(long Ms, int Running)>();
        var clock = Stopwatch.StartNew();
        var plan = new LoadPlan("closed", LoadMode.ClosedLoop,
        [
            new StagePlan("up", TimeSpan.FromMilliseconds(400), 10),
            new StagePlan("top", TimeSpan.FromMilliseconds(400), 10, Ramp: false),
            new StagePlan("down", TimeSpan.FromMilliseconds(1000), 2, Ramp: false),
        ]);

        var result = await LoadRunner.RunAsync(plan, async (_, cancellationToken) =>
        {
            samples.Enqueue((clock.ElapsedMilliseconds, Interlocked.Increment(ref running)));
            await Task.Delay(10, cancellationToken);
            Interlocked.Decrement(ref running);
        }, Quiet(), CancellationToken.None);

        Assert.True(10 == result.PeakInFlight, $"{result.StoppedBy} {result.Elapsed} {result.IterationsStarted} peak {result.PeakInFlight} " +
            string.Join(",", result.Stages.Select(s => $"{s.Name}:{s.WallTime.TotalMilliseconds:0}:{s.IterationsStarted}")) + " " +
            string.Join(",", samples.Select(s => $"{s.Ms}:{s.Running}")));
        // Early in the ramp (target ≤ 2.5 users) at most 3 run; in the last stage, once the stopped users' last iterations
        // are over, at most 2.
        Assert.All(samples.Where(s => s.Ms < 100), s => Assert.InRange(s.Running, 1, 3));
        Assert.All(samples.Where(s => s.Ms > 1200), s => Assert.InRange(s.Running, 1, 2));
        Assert.Contains(samples, s => s.Running >= 9);
    }

    [Fact]
    public async Task MaxIterationsBoundsTheRun()
    {
        var arrival = await LoadRunner.RunAsync(
            Arrival(new StagePlan("hold", TimeSpan.FromSeconds(30), 1000, Ramp: false)) with { MaxIterations = 50 },
            (_, _) => ValueTask.CompletedTask, Quiet(), CancellationToken.None);
        var closed = await LoadRunner.RunAsync(
            new LoadPlan("closed", LoadMode.ClosedLoop, [new StagePlan("hold", TimeSpan.FromSeconds(30), 4, Ramp: false)],
                MaxIterations: 50),
            async (_, _) => await Task.Yield(), Quiet(), CancellationToken.None);

        Assert.Equal((50, StopReason.MaxIterations), (arrival.IterationsStarted, arrival.StoppedBy));
        Assert.Equal((50, StopReason.MaxIterations), (closed.IterationsStarted, closed.StoppedBy));
        Assert.True(arrival.Elapsed < TimeSpan.FromSeconds(5), arrival.Elapsed.ToString());
        Assert.True(closed.Elapsed < TimeSpan.FromSeconds(5), closed.Elapsed.ToString());
    }

    [Fact]
    public async Task TimeoutStopsStartingAndCancelsIterationsThatOutliveTheDrain()
    {
        var options = Quiet();
        options.DrainTimeout = TimeSpan.FromMilliseconds(200);
        var plan = Arrival(new StagePlan("hold", TimeSpan.FromSeconds(30), 20, Ramp: false)) with
        {
            Timeout = TimeSpan.FromMilliseconds(700),
        };

        var result = await LoadRunner.RunAsync(plan, async (context, cancellationToken) =>
        {
            if (context.Iteration == 0)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken); // hangs until the engine gives up on it
            }
        }, options, CancellationToken.None);

        Assert.Equal(StopReason.Timeout, result.StoppedBy);
        Assert.InRange(result.IterationsStarted, 2, 20 * result.ScheduledTime.TotalSeconds + 1); // none early
        Assert.InRange(result.Elapsed.TotalSeconds, 0.7, 5);
        Assert.Equal(0, result.Abandoned);
        var cancelled = Assert.Single(result.Operation(OperationStats.Iteration)!.Outcomes);
        Assert.Equal(new OutcomeCount("CANCELLED", true, 1), cancelled);
    }

    [Fact]
    public async Task ClosedLoopStopsAtTheTimeoutAndRecordsExceptions()
    {
        var plan = new LoadPlan("closed", LoadMode.ClosedLoop, [new StagePlan("hold", TimeSpan.FromSeconds(30), 3, Ramp: false)],
            Timeout: TimeSpan.FromMilliseconds(500));

        var result = await LoadRunner.RunAsync(plan, async (context, cancellationToken) =>
        {
            await Task.Delay(10, cancellationToken);
            if (context.Iteration % 2 == 1)
            {
                throw new TimeoutException();
            }
        }, Quiet(), CancellationToken.None);

        Assert.Equal(StopReason.Timeout, result.StoppedBy);
        Assert.True(result.Elapsed < TimeSpan.FromSeconds(5), result.Elapsed.ToString());
        Assert.Equal(result.IterationsStarted, result.IterationsCompleted);
        Assert.Equal(3, result.PeakInFlight);
        var exceptions = Assert.Single(result.Operation(OperationStats.Iteration)!.Outcomes);
        Assert.Equal("EXCEPTION:TimeoutException", exceptions.Outcome);
        Assert.Equal(result.IterationsStarted / 2, exceptions.Count);
    }

    [Fact]
    public async Task CancellationStopsStartingAndWaitsForInFlightIterations()
    {
        var clock = Stopwatch.StartNew();
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
        var cancelledAt = TimeSpan.Zero;
        using var registration = cancellation.Token.Register(() => cancelledAt = clock.Elapsed);
        var finished = 0;

        var result = await LoadRunner.RunAsync(Arrival(new StagePlan("hold", TimeSpan.FromSeconds(30), 50, Ramp: false)),
            async (_, cancellationToken) =>
            {
                await Task.Delay(150, cancellationToken);
                Interlocked.Increment(ref finished);
            }, Quiet(), cancellation.Token);

        Assert.Equal(StopReason.Cancelled, result.StoppedBy);
        Assert.InRange(result.IterationsStarted, 2, 50 * cancelledAt.TotalSeconds + 1); // none after the cancellation
        Assert.Equal(result.IterationsStarted, finished); // the in-flight ones were allowed to finish
        Assert.Equal(result.IterationsStarted, result.IterationsCompleted);
    }

    [Fact]
    public async Task AnExceptionInAnIterationIsRecordedAndTheRunContinues()
    {
        var result = await LoadRunner.RunAsync(Arrival(new StagePlan("hold", TimeSpan.FromSeconds(1), 100, Ramp: false)),
            (context, _) =>
            {
                if (context.Iteration % 10 == 3)
                {
                    throw new InvalidOperationException("boom");
                }
                context.Recorder.Record("op", TimeSpan.FromMilliseconds(1), "OK");
                return ValueTask.CompletedTask;
            }, Quiet(), CancellationToken.None);

        Assert.Equal(100, result.IterationsStarted);
        Assert.Equal(100, result.IterationsCompleted);
        var exceptions = result.Operation(OperationStats.Iteration)!;
        Assert.Equal(10, exceptions.Errors);
        Assert.Equal(new OutcomeCount("EXCEPTION:InvalidOperationException", false, 10), Assert.Single(exceptions.Outcomes));
        Assert.Equal(90, result.Operation("op")!.Count);
        Assert.Equal(10, result.AllOperations.Errors);
    }

    [Fact]
    public async Task RecordsOutcomesPerOperationAndAPerSecondSeries()
    {
        var options = Quiet();
        options.Quiet = false;
        var progress = new StringWriter();
        options.ProgressWriter = TextWriter.Synchronized(progress);

        var result = await LoadRunner.RunAsync(Arrival(new StagePlan("hold", TimeSpan.FromSeconds(2.2), 200, Ramp: false)),
            (context, _) =>
            {
                var recorder = context.Recorder;
                recorder.Record("place_order", TimeSpan.FromMilliseconds(2), context.Iteration % 4 == 0 ? "SOLD_OUT" : "OK",
                    expected: true);
                recorder.Record("get_order", TimeSpan.FromMilliseconds(1), context.Iteration % 20 == 0 ? "UNAVAILABLE" : "OK");
                return ValueTask.CompletedTask;
            }, options, CancellationToken.None);

        var place = result.Operation("place_order")!;
        Assert.Equal(440, place.Count);
        Assert.Equal(110, place.ExpectedRefusals);
        Assert.Equal(0, place.Errors);
        Assert.Equal([new OutcomeCount("OK", false, 330), new OutcomeCount("SOLD_OUT", true, 110)], place.Outcomes);
        var get = result.Operation("get_order")!;
        Assert.Equal(22, get.Errors);
        Assert.InRange(get.Latency.ValueAtPercentile(50), 1000, 1010);

        Assert.Equal(Enumerable.Range(0, result.TimeSeries.Count), result.TimeSeries.Select(s => s.Second));
        Assert.InRange(result.TimeSeries.Count, 3, 6);
        Assert.Equal(880, result.TimeSeries.Sum(s => s.All.Count));
        Assert.Equal(440, result.TimeSeries.Sum(s => s.IterationsStarted));
        Assert.Equal(22, result.TimeSeries.Sum(s => s.All.Errors));
        Assert.All(result.TimeSeries.Where(s => s.All.Count > 0),
            s => Assert.Equal(["get_order", "place_order"], s.Operations.Select(o => o.Operation)));
        Assert.All(result.TimeSeries, s => Assert.Equal(s.Operations.Sum(o => o.Count), s.All.Count));
        var lines = progress.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.InRange(lines.Length, 2, result.TimeSeries.Count);
        Assert.Matches(@"^\s+1s\s+hold\s+target\s+200/s\s+started\s+\d+/s\s+calls\s+\d+/s\s+in flight\s+\d+\s+p99\s+\S+\s+errors\s+\d+\s+dropped\s+0$",
            lines[0]);
    }

    [Fact]
    public async Task RecordingIsThreadSafeUnderContention()
    {
        const int Threads = 8;
        const int PerThread = 50_000;
        var plan = new LoadPlan("closed", LoadMode.ClosedLoop, [new StagePlan("hold", TimeSpan.FromSeconds(20), Threads, Ramp: false)],
            MaxIterations: Threads);

        var result = await LoadRunner.RunAsync(plan, (context, _) =>
        {
            for (var i = 0; i < PerThread; i++)
            {
                context.Recorder.Record(i % 2 == 0 ? "a" : "b", TimeSpan.FromMicroseconds(i % 1000), i % 100 == 0 ? "X" : "OK");
            }
            return ValueTask.CompletedTask;
        }, Quiet(), CancellationToken.None);

        Assert.Equal(Threads * PerThread, result.AllOperations.Count);
        Assert.Equal(Threads * PerThread / 100, result.AllOperations.Errors);
        Assert.Equal(Threads * PerThread, result.TimeSeries.Sum(s => s.All.Count));
    }

    private static void InterlockedMax(ref int target, int value)
    {
        var seen = Volatile.Read(ref target);
        while (value > seen)
        {
            var previous = Interlocked.CompareExchange(ref target, value, seen);
            if (previous == seen)
            {
                return;
            }
            seen = previous;
        }
    }
}
