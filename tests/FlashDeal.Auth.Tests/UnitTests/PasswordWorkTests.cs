using FlashDeal.Auth.Accounts;

namespace FlashDeal.Auth.Tests.UnitTests;

public sealed class PasswordWorkTests
{
    private static PasswordWork Work(int slots, int queued, TimeSpan wait) =>
        new(new PasswordHashOptions { MaxConcurrent = slots, MaxQueued = queued, MaxWait = wait });

    /// <summary>Starts work that holds a slot until <paramref name="release"/> completes; returns once it runs.</summary>
    private static async Task<Task<int>> HoldSlotAsync(PasswordWork work, Task release)
    {
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = Task.Run(() => work.RunAsync(() =>
        {
            running.SetResult();
            release.Wait();
            return 1;
        }, CancellationToken.None).AsTask());
        await running.Task.WaitAsync(TimeSpan.FromSeconds(30));
        return held;
    }

    [Fact]
    public void SlotsDefaultToTheProcessorCount()
    {
        using var work = Work(0, 10, TimeSpan.FromSeconds(1));
        Assert.Equal(Environment.ProcessorCount, work.Slots);
    }

    [Fact]
    public async Task WorkBeyondTheSlotsWaitsAndRunsWhenOneIsFree()
    {
        using var work = Work(1, 10, TimeSpan.FromSeconds(30));
        var release = new TaskCompletionSource();
        var held = await HoldSlotAsync(work, release.Task);

        var queued = work.RunAsync(() => 2, CancellationToken.None).AsTask();
        await WaitUntilAsync(() => work.Waiting == 1);
        Assert.False(queued.IsCompleted);

        release.SetResult();
        Assert.Equal(1, await held);
        Assert.Equal(2, await queued.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(0, work.Waiting);
    }

    [Fact]
    public async Task AFullQueueIsRefusedAtOnce()
    {
        using var work = Work(1, 1, TimeSpan.FromSeconds(30));
        var release = new TaskCompletionSource();
        var held = await HoldSlotAsync(work, release.Task);
        var queued = work.RunAsync(() => 2, CancellationToken.None).AsTask();
        await WaitUntilAsync(() => work.Waiting == 1);

        var refused = await Assert.ThrowsAsync<PasswordWorkBusyException>(() => work.RunAsync(() => 3, CancellationToken.None).AsTask());

        Assert.Equal(TimeSpan.FromSeconds(30), refused.RetryAfter);
        Assert.Equal(1, work.Waiting);
        release.SetResult();
        Assert.Equal(2, await queued.WaitAsync(TimeSpan.FromSeconds(30)));
        await held;
    }

    [Fact]
    public async Task AWaitThatRunsOutIsRefusedAndLeavesTheQueue()
    {
        using var work = Work(1, 10, TimeSpan.FromMilliseconds(50));
        var release = new TaskCompletionSource();
        var held = await HoldSlotAsync(work, release.Task);

        var refused = await Assert.ThrowsAsync<PasswordWorkBusyException>(() => work.RunAsync(() => 2, CancellationToken.None).AsTask());

        Assert.Equal(TimeSpan.FromSeconds(1), refused.RetryAfter); // never less than a second
        Assert.Equal(0, work.Waiting);
        release.SetResult();
        await held;
        Assert.Equal(3, await work.RunAsync(() => 3, CancellationToken.None)); // the slot came back
    }

    [Fact]
    public async Task ACancelledWaitLeavesTheQueue()
    {
        using var work = Work(1, 10, TimeSpan.FromSeconds(30));
        var release = new TaskCompletionSource();
        var held = await HoldSlotAsync(work, release.Task);
        using var cancel = new CancellationTokenSource();
        var queued = work.RunAsync(() => 2, cancel.Token).AsTask();
        await WaitUntilAsync(() => work.Waiting == 1);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued);
        Assert.Equal(0, work.Waiting);
        release.SetResult();
        await held;
    }

    [Fact]
    public async Task FailingWorkGivesItsSlotBack()
    {
        using var work = Work(1, 0, TimeSpan.Zero);
        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            work.RunAsync<int>(() => throw new InvalidOperationException("boom"), CancellationToken.None).AsTask());
        Assert.Equal(4, await work.RunAsync(() => 4, CancellationToken.None));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition never became true");
            await Task.Delay(5);
        }
    }
}
