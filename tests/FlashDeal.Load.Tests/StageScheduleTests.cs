namespace FlashDeal.Load.Tests;

public class StageScheduleTests
{
    private static readonly StageSchedule Schedule = new(
    [
        new StagePlan("warm-up", TimeSpan.FromSeconds(10), 100),
        new StagePlan("spike", TimeSpan.FromSeconds(5), 1000, Ramp: false),
        new StagePlan("sustain", TimeSpan.FromSeconds(10), 500),
        new StagePlan("cool-down", TimeSpan.FromSeconds(4), 0),
    ]);

    [Fact]
    public void RampsFromThePreviousTargetAndHoldsFromTheFirstInstant()
    {
        Assert.Equal(0, Schedule.TargetAt(0));
        Assert.Equal(50, Schedule.TargetAt(5), 9);
        Assert.Equal(1000, Schedule.TargetAt(10));
        Assert.Equal(1000, Schedule.TargetAt(14.9), 9);
        Assert.Equal(750, Schedule.TargetAt(20), 9); // sustain ramps 1000 → 500 over 10 s
        Assert.Equal(250, Schedule.TargetAt(27), 9);
        Assert.Equal(0, Schedule.TargetAt(29), 9);
    }

    [Fact]
    public void IntegratesTheRateStageByStage()
    {
        Assert.Equal(500, Schedule.CumulativeAt(10), 9);          // ½·100·10
        Assert.Equal(125, Schedule.CumulativeAt(5), 9);           // ½·50·5
        Assert.Equal(5_500, Schedule.CumulativeAt(15), 9);        // + 1000·5
        Assert.Equal(13_000, Schedule.CumulativeAt(25), 9);       // + ½·(1000+500)·10
        Assert.Equal(14_000, Schedule.TotalCumulative, 9);        // + ½·500·4
        Assert.Equal(14_000, Schedule.CumulativeAt(1_000), 9);
        Assert.Equal(0, Schedule.CumulativeAt(-1));
    }

    [Fact]
    public void AssignsEachStartToTheStageItFallsDueIn()
    {
        Assert.Equal(0, Schedule.StageOfStart(1));
        Assert.Equal(0, Schedule.StageOfStart(500));
        Assert.Equal(1, Schedule.StageOfStart(501));
        Assert.Equal(2, Schedule.StageOfStart(5_501));
        Assert.Equal(3, Schedule.StageOfStart(14_000));
        Assert.Equal(["warm-up", "spike", "sustain", "cool-down"],
            new[] { 0.0, 12, 20, 28 }.Select(t => Schedule.Stages[Schedule.StageAt(t)].Name));
    }

    [Fact]
    public void RefusesAnEmptyPlanOrAStageWithoutTime()
    {
        Assert.Throws<ArgumentException>(() => new StageSchedule([]));
        Assert.Throws<ArgumentException>(() => new StageSchedule([new StagePlan("x", TimeSpan.Zero, 1)]));
        Assert.Throws<ArgumentException>(() => new StageSchedule([new StagePlan("x", TimeSpan.FromSeconds(1), double.NaN)]));
    }
}
