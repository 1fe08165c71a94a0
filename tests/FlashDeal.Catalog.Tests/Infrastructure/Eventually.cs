namespace FlashDeal.Catalog.Tests.Infrastructure;

/// <summary>Polls until a condition holds, for effects of background work; fails with the last value after a bound.</summary>
public static class Eventually
{
    public static async Task<T> HoldsAsync<T>(Func<Task<T>> probe, Func<T, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var value = await probe();
            if (condition(value))
            {
                return value;
            }
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Condition not met in time; last value: {value}");
            }
            await Task.Delay(25);
        }
    }
}
