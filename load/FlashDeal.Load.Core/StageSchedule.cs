namespace FlashDeal.Load;

/// <summary>
/// The target of a plan as a function of time: per stage a straight line from the previous stage's target (a ramp) or a
/// constant (a hold). The arrival-rate scheduler starts iterations from the integral of the rate, so the number started
/// by time t is floor(∫₀ᵗ rate) whatever the timer resolution; the closed loop reads the target as a number of users.
/// </summary>
public sealed class StageSchedule
{
    private readonly StagePlan[] _stages;
    private readonly double[] _start;
    private readonly double[] _from;
    private readonly double[] _cumulativeAtStart;

    public StageSchedule(IReadOnlyList<StagePlan> stages)
    {
        ArgumentNullException.ThrowIfNull(stages);
        if (stages.Count == 0)
        {
            throw new ArgumentException("A plan needs at least one stage.", nameof(stages));
        }
        _stages = [.. stages];
        _start = new double[_stages.Length];
        _from = new double[_stages.Length];
        _cumulativeAtStart = new double[_stages.Length + 1];
        var previousTarget = 0.0;
        var t = 0.0;
        for (var i = 0; i < _stages.Length; i++)
        {
            var stage = _stages[i];
            if (stage.Duration <= TimeSpan.Zero || !double.IsFinite(stage.Target) || stage.Target < 0)
            {
                throw new ArgumentException(
                    $"Stage '{stage.Name}' needs a positive duration and a finite target >= 0.", nameof(stages));
            }
            _start[i] = t;
            _from[i] = stage.Ramp ? previousTarget : stage.Target;
            var seconds = stage.Duration.TotalSeconds;
            _cumulativeAtStart[i + 1] = _cumulativeAtStart[i] + (_from[i] + stage.Target) / 2 * seconds;
            t += seconds;
            previousTarget = stage.Target;
        }
        TotalSeconds = t;
    }

    public IReadOnlyList<StagePlan> Stages => _stages;

    public double TotalSeconds { get; }

    /// <summary>Iterations due over the whole plan (arrival rate).</summary>
    public double TotalCumulative => _cumulativeAtStart[^1];

    public double StartOf(int stage) => _start[stage];

    /// <summary>The target a stage starts from: the previous target for a ramp, its own target for a hold.</summary>
    public double FromTarget(int stage) => _from[stage];

    /// <summary>The stage running at <paramref name="seconds"/> since the start (the last one at or after the end).</summary>
    public int StageAt(double seconds)
    {
        for (var i = _stages.Length - 1; i > 0; i--)
        {
            if (seconds >= _start[i])
            {
                return i;
            }
        }
        return 0;
    }

    public double TargetAt(double seconds)
    {
        var i = StageAt(seconds);
        var stage = _stages[i];
        var into = Math.Clamp(seconds - _start[i], 0, stage.Duration.TotalSeconds);
        return _from[i] + (stage.Target - _from[i]) * into / stage.Duration.TotalSeconds;
    }

    /// <summary>∫₀ˢ target dt, clamped to the plan.</summary>
    public double CumulativeAt(double seconds)
    {
        if (seconds <= 0)
        {
            return 0;
        }
        if (seconds >= TotalSeconds)
        {
            return TotalCumulative;
        }
        var i = StageAt(seconds);
        var into = seconds - _start[i];
        var duration = _stages[i].Duration.TotalSeconds;
        var slope = (_stages[i].Target - _from[i]) / duration;
        return _cumulativeAtStart[i] + _from[i] * into + slope * into * into / 2;
    }

    /// <summary>The stage in which the <paramref name="ordinal"/>-th start (1-based) falls due.</summary>
    public int StageOfStart(long ordinal)
    {
        for (var i = 0; i < _stages.Length; i++)
        {
            if (ordinal <= _cumulativeAtStart[i + 1] + 1e-9)
            {
                return i;
            }
        }
        return _stages.Length - 1;
    }
}
