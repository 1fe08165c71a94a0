using System.Diagnostics;
using System.Globalization;

namespace FlashDeal.Load;

/// <summary>
/// One run of a plan: the arrival-rate scheduler or the closed-loop controller, the iterations they start, the sampler that
/// cuts the per-second series and prints progress, and the bounded drain at the end.
/// </summary>
internal sealed class LoadRun
{
    private const double Epsilon = 1e-9;

    /// <summary>What a scheduler returns when the stop token (Ctrl-C or the timeout) ended it; the caller says which.</summary>
    private const string Stopped = "stopped";

    private readonly LoadPlan _plan;
    private readonly IterationAsync _iteration;
    private readonly LoadOptions _options;
    private readonly StageSchedule _schedule;
    private readonly string[] _stageNames;
    private readonly long[] _stageStarted;
    private readonly long[] _stageDropped;
    private readonly double[] _stageEnteredAt;
    private readonly CancellationTokenSource _iterationCancellation = new();
    private readonly TaskCompletionSource _idle = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<SecondSample> _series = [];
    private readonly long _origin;
    private readonly MetricsCollector _metrics;
    private readonly CancellationTokenSource _thinkCancellation = new();
    private readonly SoakWindows? _windows;
    private readonly bool[] _stageJudged;
    private readonly List<StressStep> _breaks = [];

    private long _started;
    private long _completed;
    private long _dropped;
    private int _inFlight;
    private int _peakInFlight;
    private int _schedulingDone;
    private volatile int _currentStage;
    private volatile bool _maxIterationsReached;
    private long _errorsSoFar;
    private long _lastStarted;
    private long _lastDropped;
    private int _nextSecond;
    private long _sharedLeft;
    private long _thinkPauses;
    private long _thinkTicks;

    public LoadRun(LoadPlan plan, IterationAsync iteration, LoadOptions options)
    {
        _plan = plan;
        _iteration = iteration;
        _options = options;
        _schedule = new StageSchedule(plan.Stages);
        _stageNames = [.. plan.Stages.Select(s => s.Name)];
        _stageStarted = new long[_stageNames.Length];
        _stageDropped = new long[_stageNames.Length];
        _stageEnteredAt = [.. _stageNames.Select((_, i) => i == 0 ? 0 : double.NaN)];
        _origin = Stopwatch.GetTimestamp();
        _metrics = new MetricsCollector(_origin);
        _stageJudged = new bool[_stageNames.Length];
        _sharedLeft = plan.Iterations is { Shared: true } budget ? budget.Count : long.MaxValue;
        _windows = plan.Window is { } window ? new SoakWindows((int)window.TotalSeconds, options.MemoryProbe) : null;
    }

    private double Now => Stopwatch.GetElapsedTime(_origin).TotalSeconds;

    public async Task<RunResult> RunAsync(CancellationToken cancellationToken)
    {
        EnsureThreads();
        var startedAt = DateTimeOffset.UtcNow;
        var timeout = _plan.Timeout ?? _options.Timeout;
        timeout = timeout > LoadOptions.MaxDuration || timeout <= TimeSpan.Zero ? LoadOptions.MaxDuration : timeout;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stop.CancelAfter(timeout);
        using var samplerStop = new CancellationTokenSource();
        var sampler = Task.Run(() => SampleAsync(samplerStop.Token), CancellationToken.None);

        string stoppedBy;
        List<Task> virtualUsers = [];
        try
        {
            stoppedBy = _plan.Iterations is not null
                ? await RunFixedIterationsAsync(virtualUsers, stop.Token).ConfigureAwait(false)
                : _plan.Mode == LoadMode.ArrivalRate
                    ? await ScheduleArrivalsAsync(stop.Token).ConfigureAwait(false)
                    : await RunClosedLoopAsync(virtualUsers, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            stoppedBy = Stopped;
        }
        if (stoppedBy == Stopped)
        {
            stoppedBy = cancellationToken.IsCancellationRequested ? StopReason.Cancelled : StopReason.Timeout;
        }
        var scheduledTime = Now;
        await _thinkCancellation.CancelAsync().ConfigureAwait(false);
        Interlocked.Exchange(ref _schedulingDone, 1);
        if (Volatile.Read(ref _inFlight) == 0)
        {
            _idle.TrySetResult();
        }

        // Normal end: the in-flight iterations may use what is left of the timeout (at least the drain time). Ctrl-C or the
        // timeout: they get the drain time, then their token is cancelled and they get one more second.
        var drain = _options.DrainTimeout;
        if (stoppedBy is StopReason.Completed or StopReason.MaxIterations)
        {
            var left = timeout - TimeSpan.FromSeconds(scheduledTime);
            drain = left > drain ? left : drain;
        }
        var allDone = virtualUsers.Count > 0 ? Task.WhenAll(virtualUsers.Append(_idle.Task)) : _idle.Task;
        if (!await WaitAsync(allDone, drain).ConfigureAwait(false))
        {
            await _iterationCancellation.CancelAsync().ConfigureAwait(false);
            await WaitAsync(allDone, TimeSpan.FromSeconds(1)).ConfigureAwait(false);
        }
        var elapsed = TimeSpan.FromSeconds(Now);

        await samplerStop.CancelAsync().ConfigureAwait(false);
        await sampler.ConfigureAwait(false);
        EmitSeconds(int.MaxValue, final: true);

        return BuildResult(startedAt, elapsed, TimeSpan.FromSeconds(scheduledTime), stoppedBy);
    }

    /// <summary>
    /// The scheduler, the sampler, the timers and every iteration's continuations run on the thread pool, which starts with
    /// one thread per core and adds more only every ~0.5 s once they are all busy. A couple of threads blocked elsewhere (a
    /// scenario's synchronous call, the test host) would freeze every start and every measurement for that long — seen
    /// here as a 1 s hole in a closed-loop run on 2 cores. So the engine asks for a few threads per core up front.
    /// </summary>
    private static void EnsureThreads()
    {
        ThreadPool.GetMinThreads(out var workers, out var completionPorts);
        var wanted = Math.Clamp(Environment.ProcessorCount * 8, 16, 256);
        if (workers < wanted)
        {
            ThreadPool.SetMinThreads(wanted, completionPorts);
        }
    }

    private static async Task<bool> WaitAsync(Task task, TimeSpan limit)
    {
        if (task.IsCompleted)
        {
            return true;
        }
        var finished = await Task.WhenAny(task, Task.Delay(limit)).ConfigureAwait(false);
        return finished == task;
    }

    // ---- arrival rate ----

    private async Task<string> ScheduleArrivalsAsync(CancellationToken stop)
    {
        long issued = 0;
        var total = _schedule.TotalSeconds;
        while (true)
        {
            var now = Now;
            var t = Math.Min(now, total);
            MarkStage(_schedule.StageAt(t), t);
            if (Broke(now >= total ? _stageNames.Length : _schedule.StageAt(t)))
            {
                return StopReason.Break;
            }
            var due = (long)Math.Floor(_schedule.CumulativeAt(t) + Epsilon);
            while (issued < due)
            {
                if (stop.IsCancellationRequested)
                {
                    return Stopped;
                }
                issued++;
                var stage = _schedule.StageOfStart(issued);
                if (TryEnter())
                {
                    if (!TryReserveIteration(out var number))
                    {
                        Exit();
                        return StopReason.MaxIterations;
                    }
                    Interlocked.Increment(ref _stageStarted[stage]);
                    var context = new IterationContext(this, number, (int)(number % _plan.MaxInFlight), stage);
                    ThreadPool.UnsafeQueueUserWorkItem(context, preferLocal: false);
                }
                else
                {
                    Interlocked.Increment(ref _dropped);
                    Interlocked.Increment(ref _stageDropped[stage]);
                }
            }
            if (now >= total)
            {
                return StopReason.Completed;
            }
            // The count comes from the integral, so the wait only sets how bursty the starts are: about one start per wake-up
            // at low rates, a millisecond's worth at high rates; never sleep past a stage boundary by more than 20 ms.
            var rate = _schedule.TargetAt(t);
            var wait = rate > 0 ? Math.Clamp(1 / rate, 0.001, 0.02) : 0.02;
            await Task.Delay(TimeSpan.FromSeconds(wait), stop).ConfigureAwait(false);
        }
    }

    // ---- closed loop ----

    private sealed class VirtualUser(int index)
    {
        public int Index { get; } = index;

        public volatile bool StopRequested;

        public Task Loop { get; set; } = Task.CompletedTask;
    }

    private async Task<string> RunClosedLoopAsync(List<Task> loops, CancellationToken stop)
    {
        var users = new List<VirtualUser?>();
        var total = _schedule.TotalSeconds;
        try
        {
            while (true)
            {
                var now = Now;
                var t = Math.Min(now, total);
                var stage = _schedule.StageAt(t);
                MarkStage(stage, t);
                if (Broke(now >= total ? _stageNames.Length : stage))
                {
                    return StopReason.Break;
                }
                if (_maxIterationsReached)
                {
                    return StopReason.MaxIterations;
                }
                if (stop.IsCancellationRequested)
                {
                    return Stopped;
                }
                if (now >= total)
                {
                    return StopReason.Completed;
                }
                var desired = (int)Math.Min(_plan.MaxInFlight, Math.Ceiling(_schedule.TargetAt(t) - Epsilon));
                var active = users.OfType<VirtualUser>().Where(u => u is { StopRequested: false, Loop.IsCompleted: false }).ToList();
                for (var i = active.Count - 1; i >= desired; i--)
                {
                    active[i].StopRequested = true;
                }
                for (var n = active.Count; n < desired; n++)
                {
                    var slot = users.FindIndex(u => u is null || u.Loop.IsCompleted);
                    if (slot < 0)
                    {
                        slot = users.Count;
                        users.Add(null);
                    }
                    var user = new VirtualUser(slot);
                    users[slot] = user;
                    user.Loop = Task.Run(() => VirtualUserLoopAsync(user), CancellationToken.None);
                    loops.Add(user.Loop);
                }
                await Task.Delay(TimeSpan.FromMilliseconds(10), stop).ConfigureAwait(false);
            }
        }
        finally
        {
            foreach (var user in users)
            {
                user?.StopRequested = true;
            }
        }
    }

    // ---- fixed iterations (per user or shared) ----

    private async Task<string> RunFixedIterationsAsync(List<Task> loops, CancellationToken stop)
    {
        var budget = _plan.Iterations!;
        MarkStage(0, 0);
        var users = new List<VirtualUser>();
        for (var i = 0; i < budget.VirtualUsers; i++)
        {
            var user = new VirtualUser(i);
            users.Add(user);
            user.Loop = Task.Run(() => VirtualUserLoopAsync(user), CancellationToken.None);
            loops.Add(user.Loop);
        }
        try
        {
            await Task.WhenAll(loops).WaitAsync(stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            foreach (var user in users)
            {
                user.StopRequested = true;
            }
            return Stopped;
        }
        return _maxIterationsReached && Volatile.Read(ref _started) < budget.Total ? StopReason.MaxIterations : StopReason.Completed;
    }

    /// <summary>Waits a think time; false when the run stopped meanwhile.</summary>
    private async ValueTask<bool> ThinkAsync(ThinkTime think)
    {
        var pause = think.Next(Random.Shared);
        Interlocked.Increment(ref _thinkPauses);
        Interlocked.Add(ref _thinkTicks, pause.Ticks);
        if (pause <= TimeSpan.Zero)
        {
            return !_thinkCancellation.IsCancellationRequested;
        }
        try
        {
            await Task.Delay(pause, _thinkCancellation.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task VirtualUserLoopAsync(VirtualUser user)
    {
        var iterations = 0L;
        var perUser = _plan.Iterations is { Shared: false } budget ? budget.Count : long.MaxValue;
        while (!user.StopRequested)
        {
            if (iterations >= perUser)
            {
                return;
            }
            // A shared iteration is taken before the pause, so no user pauses for an iteration another one took.
            if (Interlocked.Decrement(ref _sharedLeft) < 0)
            {
                return;
            }
            // The pause comes between two iterations: never before a user's first, never after its last.
            if (iterations > 0 && _plan.Think is { } think && (!await ThinkAsync(think).ConfigureAwait(false) || user.StopRequested))
            {
                return;
            }
            if (!TryReserveIteration(out var number))
            {
                _maxIterationsReached = true;
                return;
            }
            var stage = _currentStage;
            Interlocked.Increment(ref _stageStarted[stage]);
            Enter();
            await ExecuteAsync(new IterationContext(this, number, user.Index, stage)).ConfigureAwait(false);
            // An iteration that completes synchronously would otherwise keep this thread forever.
            if (++iterations % 64 == 0)
            {
                await Task.Yield();
            }
        }
    }

    // ---- iterations ----

    private bool TryReserveIteration(out long number)
    {
        while (true)
        {
            var current = Volatile.Read(ref _started);
            if (current >= _plan.MaxIterations)
            {
                number = -1;
                return false;
            }
            if (Interlocked.CompareExchange(ref _started, current + 1, current) == current)
            {
                number = current;
                return true;
            }
        }
    }

    private bool TryEnter()
    {
        while (true)
        {
            var current = Volatile.Read(ref _inFlight);
            if (current >= _plan.MaxInFlight)
            {
                return false;
            }
            if (Interlocked.CompareExchange(ref _inFlight, current + 1, current) == current)
            {
                RaisePeak(current + 1);
                return true;
            }
        }
    }

    private void Enter() => RaisePeak(Interlocked.Increment(ref _inFlight));

    private void RaisePeak(int value)
    {
        var peak = Volatile.Read(ref _peakInFlight);
        while (value > peak)
        {
            var seen = Interlocked.CompareExchange(ref _peakInFlight, value, peak);
            if (seen == peak)
            {
                return;
            }
            peak = seen;
        }
    }

    private void Exit()
    {
        if (Interlocked.Decrement(ref _inFlight) == 0 && Volatile.Read(ref _schedulingDone) == 1)
        {
            _idle.TrySetResult();
        }
    }

    private async Task ExecuteAsync(IterationContext context)
    {
        var start = Stopwatch.GetTimestamp();
        var token = _iterationCancellation.Token;
        try
        {
            await _iteration(context, token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Cancelled by the engine at the end of the drain: not the scenario's error.
            _metrics.Record(context.StageIndex, OperationStats.Iteration, Stopwatch.GetElapsedTime(start), "CANCELLED", true);
        }
        catch (Exception exception)
        {
            _metrics.Record(context.StageIndex, OperationStats.Iteration, Stopwatch.GetElapsedTime(start),
                "EXCEPTION:" + exception.GetType().Name, false);
        }
        finally
        {
            Interlocked.Increment(ref _completed);
            Exit();
        }
    }

    private sealed class IterationContext(LoadRun run, long iteration, int virtualUser, int stage)
        : IIterationContext, IOperationRecorder, IThreadPoolWorkItem
    {
        public long Iteration { get; } = iteration;

        public int VirtualUser { get; } = virtualUser;

        public int StageIndex { get; } = stage;

        public string Stage => run._stageNames[StageIndex];

        public IOperationRecorder Recorder => this;

        public void Record(string operation, TimeSpan latency, string outcome, bool expected = false) =>
            run._metrics.Record(StageIndex, operation, latency, outcome, expected);

        void IThreadPoolWorkItem.Execute() => _ = run.ExecuteAsync(this);
    }

    // ---- break conditions (stress) ----

    /// <summary>Judges every stage before <paramref name="current"/> not judged yet against the break conditions: true when
    /// one broke, so no further stage starts. Calls still in flight at the boundary are not counted yet; the report judges
    /// again on the final numbers (<see cref="StressAnalysis"/>).</summary>
    private bool Broke(int current)
    {
        if (_plan.BreakWhen is not { Count: > 0 } conditions)
        {
            return false;
        }
        var broke = false;
        for (var i = 0; i < Math.Min(current, _stageNames.Length); i++)
        {
            if (_stageJudged[i])
            {
                continue;
            }
            _stageJudged[i] = true;
            var totals = _metrics.Totals(_stageNames).Where(p => p.Key.Stage == i).Select(p => p.Value).ToList();
            var plan = _plan.Stages[i];
            var snapshot = new RunResult
            {
                Name = _plan.Name,
                Mode = _plan.Mode,
                Stages = [new StageResult(plan.Name, _schedule.FromTarget(i), plan.Target, plan.Ramp, plan.Duration,
                    TimeSpan.FromSeconds(_schedule.StartOf(i)), plan.Duration, Volatile.Read(ref _stageStarted[i]),
                    Volatile.Read(ref _stageDropped[i]))],
                PerStage = totals,
            };
            var step = StressAnalysis.Judge(snapshot, plan.Name, conditions);
            lock (_breaks)
            {
                _breaks.Add(step);
            }
            broke |= step.Broke;
        }
        return broke;
    }

    // ---- stages, samples, progress ----

    private void MarkStage(int stage, double at)
    {
        for (var i = 0; i <= stage; i++)
        {
            if (double.IsNaN(_stageEnteredAt[i]))
            {
                _stageEnteredAt[i] = i == stage ? at : _schedule.StartOf(i);
            }
        }
        _currentStage = stage;
    }

    private async Task SampleAsync(CancellationToken stop)
    {
        var second = 1;
        while (!stop.IsCancellationRequested)
        {
            // Timers may fire a little early: a second is only cut once the clock has passed it, or its late calls are lost.
            for (var wait = TimeSpan.FromSeconds(second - Now); wait > TimeSpan.Zero; wait = TimeSpan.FromSeconds(second - Now))
            {
                try
                {
                    await Task.Delay(wait + TimeSpan.FromMilliseconds(1), stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            second = Math.Max(second, (int)Now);
            EmitSeconds(second, final: false);
            second++;
        }
    }

    /// <summary>Turns the drained cells of every second before <paramref name="beforeSecond"/> into samples.</summary>
    private void EmitSeconds(int beforeSecond, bool final)
    {
        lock (_series)
        {
            var drained = _metrics.DrainSeconds(beforeSecond);
            var last = final ? Math.Max(_nextSecond, (int)Math.Ceiling(Now)) - 1 : beforeSecond - 1;
            if (drained.Count > 0)
            {
                last = Math.Max(last, drained.Keys.Max());
            }
            for (var second = _nextSecond; second <= last; second++)
            {
                var operations = drained.GetValueOrDefault(second) ?? [];
                var isLast = second == last;
                var started = Volatile.Read(ref _started);
                var dropped = Volatile.Read(ref _dropped);
                var sample = new SecondSample(
                    second,
                    _stageNames[_schedule.StageAt(second + 0.5)],
                    _schedule.TargetAt(second + 0.5),
                    isLast ? started - _lastStarted : 0,
                    isLast ? dropped - _lastDropped : 0,
                    Volatile.Read(ref _inFlight),
                    Summarise("*", operations.Values),
                    [.. operations.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => Summarise(p.Key, [p.Value]))]);
                if (isLast)
                {
                    _lastStarted = started;
                    _lastDropped = dropped;
                }
                _series.Add(sample);
                _windows?.Add(second, operations.Values);
                _errorsSoFar += sample.All.Errors;
                if (!final)
                {
                    PrintProgress(sample);
                }
            }
            _nextSecond = Math.Max(_nextSecond, last + 1);
        }
    }

    private static SecondOperation Summarise(string name, IEnumerable<MetricsCollector.SecondCell> cells)
    {
        var latency = new LatencyHistogram(5);
        long errors = 0;
        foreach (var cell in cells)
        {
            latency.Merge(cell.Latency);
            errors += cell.Errors;
        }
        return new SecondOperation(name, latency.Count, errors, latency.ValueAtPercentile(50), latency.ValueAtPercentile(95),
            latency.ValueAtPercentile(99), latency.Max);
    }

    private void PrintProgress(SecondSample sample)
    {
        if (_options.Quiet)
        {
            return;
        }
        var writer = _options.ProgressWriter ?? Console.Error;
        try
        {
            WriteProgress(writer, sample);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // A closed stderr must not end the run.
        }
    }

    private void WriteProgress(TextWriter writer, SecondSample sample)
    {
        var target = _plan.Mode == LoadMode.ArrivalRate
            ? Invariant($"target {sample.Target,7:0.#}/s")
            : Invariant($"target {Math.Ceiling(sample.Target - Epsilon),5:0} VUs");
        writer.WriteLine(Invariant(
            $"{sample.Second + 1,5}s  {sample.Stage,-12} {target}  started {sample.IterationsStarted,6}/s  calls {sample.All.Count,6}/s  in flight {sample.InFlight,5}  p99 {LoadReport.FormatMicros(sample.All.P99Micros),9}  errors {_errorsSoFar,6}  dropped {Volatile.Read(ref _dropped),6}"));
    }

    private RunResult BuildResult(DateTimeOffset startedAt, TimeSpan elapsed, TimeSpan scheduledTime, string stoppedBy)
    {
        var stages = new StageResult[_stageNames.Length];
        for (var i = 0; i < stages.Length; i++)
        {
            var entered = _stageEnteredAt[i];
            var left = i + 1 < stages.Length && !double.IsNaN(_stageEnteredAt[i + 1])
                ? _stageEnteredAt[i + 1]
                : scheduledTime.TotalSeconds;
            var plan = _plan.Stages[i];
            stages[i] = new StageResult(plan.Name, _schedule.FromTarget(i), plan.Target, plan.Ramp, plan.Duration,
                TimeSpan.FromSeconds(_schedule.StartOf(i)),
                double.IsNaN(entered) ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Max(0, left - entered)),
                Volatile.Read(ref _stageStarted[i]), Volatile.Read(ref _stageDropped[i]));
        }
        if (_plan.Iterations is not null)
        {
            // A fixed count has no planned time: the stage lasted as long as the iterations took.
            stages[0] = stages[0] with { PlannedDuration = scheduledTime > TimeSpan.Zero ? scheduledTime : TimeSpan.FromMilliseconds(1) };
        }
        var totals = _metrics.Totals(_stageNames);
        return new RunResult
        {
            Executor = _plan.Iterations?.Executor ?? (_plan.Mode == LoadMode.ArrivalRate ? "ramping-arrival-rate" : "ramping-vus"),
            ThinkPauses = Volatile.Read(ref _thinkPauses),
            ThinkTime = TimeSpan.FromTicks(Volatile.Read(ref _thinkTicks)),
            BreakWhen = _plan.BreakWhen ?? [],
            LiveBreaks = [.. _breaks],
            Windows = _windows?.Finish() ?? [],
            WindowSeconds = _windows?.Seconds ?? 0,
            Name = _plan.Name,
            Mode = _plan.Mode,
            StartedAt = startedAt,
            Elapsed = elapsed,
            ScheduledTime = scheduledTime,
            StoppedBy = stoppedBy,
            MaxInFlight = _plan.MaxInFlight,
            MaxIterations = _plan.MaxIterations,
            Stages = stages,
            PerStage = [.. totals.OrderBy(p => p.Key.Stage).ThenBy(p => p.Key.Operation, StringComparer.Ordinal)
                .Select(p => p.Value)],
            TimeSeries = [.. _series],
            IterationsStarted = Volatile.Read(ref _started),
            IterationsCompleted = Volatile.Read(ref _completed),
            Dropped = Volatile.Read(ref _dropped),
            Abandoned = Volatile.Read(ref _inFlight),
            PeakInFlight = Volatile.Read(ref _peakInFlight),
        };
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
