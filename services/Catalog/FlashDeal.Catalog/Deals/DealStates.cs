using FlashDeal.Catalog.Infrastructure;
using FlashDeal.Contracts.Catalog.V1;

namespace FlashDeal.Catalog.Deals;

/// <summary>A deal's state from the clock, its window (start inclusive, end exclusive), cancellation and stock.</summary>
public static class DealStates
{
    public static DealState Compute(Deal deal, DateTime now, int remaining)
    {
        if (deal.CancelTime is not null)
        {
            return DealState.Cancelled;
        }
        if (now >= Times.ToUtc(deal.EndTime))
        {
            return DealState.Ended;
        }
        if (now < Times.ToUtc(deal.StartTime))
        {
            return DealState.Upcoming;
        }
        return remaining > 0 ? DealState.Live : DealState.SoldOut;
    }

    public static bool IsFinal(DealState state) => state is DealState.Ended or DealState.Cancelled;

    /// <summary>The SQL-decidable phase a state belongs to (LIVE and SOLD_OUT both are "open").</summary>
    public static DealPhase Phase(DealState state) => state switch
    {
        DealState.Upcoming => DealPhase.Upcoming,
        DealState.Live or DealState.SoldOut => DealPhase.Open,
        DealState.Ended => DealPhase.Ended,
        _ => DealPhase.Cancelled,
    };
}
