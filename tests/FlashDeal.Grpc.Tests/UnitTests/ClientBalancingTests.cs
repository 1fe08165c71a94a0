using System.Net;
using FlashDeal.Grpc.Client;

namespace FlashDeal.Grpc.Tests.UnitTests;

public sealed class ClientBalancingTests : IDisposable
{
    private readonly List<Subchannel> _created = [];

    private Subchannel[] Subchannels(int count)
    {
        var list = Enumerable.Range(0, count)
            .Select(i => new Subchannel(new IPEndPoint(IPAddress.Loopback, 5000 + i), new SocketsHttpHandler()))
            .ToArray();
        _created.AddRange(list);
        return list;
    }

    public void Dispose() => _created.ForEach(s => s.Dispose());

    [Fact]
    public void PickerTakesTheLessLoadedOfTheTwoItSamples()
    {
        var pair = Subchannels(2);
        for (var i = 0; i < 5; i++)
        {
            Assert.True(pair[0].TryAcquire());
        }
        var random = new Random(1);

        for (var i = 0; i < 100; i++)
        {
            Assert.Same(pair[1], SubchannelPicker.Pick(pair, Environment.TickCount64, random));
        }
    }

    [Fact]
    public void PickerSpreadsCallsWhenLoadIsEven()
    {
        var subchannels = Subchannels(4);
        var random = new Random(7);
        var picks = new Dictionary<Subchannel, int>();

        for (var i = 0; i < 4000; i++)
        {
            var picked = SubchannelPicker.Pick(subchannels, Environment.TickCount64, random)!;
            picks[picked] = picks.GetValueOrDefault(picked) + 1;
        }

        Assert.All(subchannels, s => Assert.InRange(picks.GetValueOrDefault(s), 800, 1200));
    }

    [Fact]
    public void PickerSkipsAddressesInBackoffWhileOthersAreUsable()
    {
        var subchannels = Subchannels(3);
        subchannels[0].ReportConnectFailure();
        subchannels[2].ReportConnectFailure();
        var random = new Random(3);

        for (var i = 0; i < 100; i++)
        {
            Assert.Same(subchannels[1], SubchannelPicker.Pick(subchannels, Environment.TickCount64, random));
        }
    }

    [Fact]
    public void WhenEveryAddressIsInBackoffTheOneThatLeavesFirstIsTried()
    {
        var subchannels = Subchannels(2);
        subchannels[0].ReportConnectFailure();
        subchannels[0].ReportConnectFailure();
        subchannels[1].ReportConnectFailure();

        Assert.Null(SubchannelPicker.Pick(subchannels, Environment.TickCount64, new Random(1)));
        Assert.Same(subchannels[1], SubchannelPicker.EarliestOutOfBackoff(subchannels));
    }

    [Fact]
    public void BackoffGrowsWithConsecutiveFailuresAndASuccessClearsIt()
    {
        var subchannel = Subchannels(1)[0];

        var first = subchannel.ReportConnectFailure();
        var second = subchannel.ReportConnectFailure();
        var third = subchannel.ReportConnectFailure();

        Assert.InRange(first.TotalMilliseconds, 800, 1200);
        Assert.InRange(second.TotalMilliseconds, 1600 * 0.8, 1600 * 1.2);
        Assert.InRange(third.TotalMilliseconds, 2560 * 0.8, 2560 * 1.2);
        Assert.True(subchannel.IsInBackoff(Environment.TickCount64));
        subchannel.ReportConnected();
        Assert.False(subchannel.IsInBackoff(Environment.TickCount64));
        Assert.Equal(0, subchannel.ConsecutiveFailures);
    }

    [Fact]
    public void RetiredSubchannelDrainsItsCallsBeforeItIsDisposed()
    {
        var subchannel = Subchannels(1)[0];
        Assert.True(subchannel.TryAcquire());

        subchannel.Retire();

        Assert.False(subchannel.IsDisposed);
        Assert.False(subchannel.TryAcquire());
        Assert.Null(SubchannelPicker.Pick([subchannel], Environment.TickCount64, new Random(1)));
        subchannel.Release();
        Assert.True(subchannel.IsDisposed);
    }

    [Fact]
    public void RetryDelayIsJitteredBelowAnExponentialCeiling()
    {
        var policy = new RetryPolicy
        {
            InitialBackoff = TimeSpan.FromMilliseconds(100),
            BackoffMultiplier = 2,
            MaxBackoff = TimeSpan.FromMilliseconds(500),
        };
        var random = new Random(5);
        double[] ceilings = [100, 200, 400, 500, 500];

        for (var retry = 1; retry <= ceilings.Length; retry++)
        {
            var delays = Enumerable.Range(0, 500).Select(_ => policy.GetDelay(retry, random).TotalMilliseconds).ToArray();
            Assert.All(delays, d => Assert.InRange(d, 0, ceilings[retry - 1]));
            Assert.True(delays.Max() > ceilings[retry - 1] * 0.9 && delays.Min() < ceilings[retry - 1] * 0.1);
        }
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(3, 3)]
    [InlineData(50, RetryPolicy.MaxAttemptsLimit)]
    public void RetryAttemptsAreBounded(int configured, int effective) =>
        Assert.Equal(effective, new RetryPolicy { MaxAttempts = configured }.EffectiveMaxAttempts);
}
