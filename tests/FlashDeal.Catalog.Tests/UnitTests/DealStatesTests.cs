using FlashDeal.Catalog.Deals;
using FlashDeal.Contracts.Catalog.V1;
using Google.Protobuf.WellKnownTypes;

namespace FlashDeal.Catalog.Tests.UnitTests;

public sealed class DealStatesTests
{
    private static readonly DateTime Start = new(2030, 1, 1, 12, 0, 0, DateTimeKind.Utc);
    private static readonly DateTime End = Start.AddHours(1);

    private static Deal Deal(bool cancelled = false) => new()
    {
        StartTime = Timestamp.FromDateTime(Start),
        EndTime = Timestamp.FromDateTime(End),
        CancelTime = cancelled ? Timestamp.FromDateTime(Start.AddMinutes(-5)) : null,
    };

    [Fact]
    public void TheWindowStartsInclusiveAndEndsExclusive()
    {
        Assert.Equal(DealState.Upcoming, DealStates.Compute(Deal(), Start.AddTicks(-10), 5));
        Assert.Equal(DealState.Live, DealStates.Compute(Deal(), Start, 5));
        Assert.Equal(DealState.Live, DealStates.Compute(Deal(), End.AddTicks(-10), 5));
        Assert.Equal(DealState.Ended, DealStates.Compute(Deal(), End, 5));
    }

    [Fact]
    public void AnOpenDealWithoutStockIsSoldOut()
    {
        Assert.Equal(DealState.SoldOut, DealStates.Compute(Deal(), Start.AddMinutes(1), 0));
        Assert.Equal(DealState.Upcoming, DealStates.Compute(Deal(), Start.AddMinutes(-1), 0));
        Assert.Equal(DealState.Ended, DealStates.Compute(Deal(), End.AddMinutes(1), 0));
    }

    [Fact]
    public void CancellationWinsOverTheClock()
    {
        Assert.Equal(DealState.Cancelled, DealStates.Compute(Deal(cancelled: true), Start.AddMinutes(1), 5));
        Assert.Equal(DealState.Cancelled, DealStates.Compute(Deal(cancelled: true), End.AddHours(1), 5));
        Assert.True(DealStates.IsFinal(DealState.Cancelled));
        Assert.False(DealStates.IsFinal(DealState.SoldOut));
    }
}
