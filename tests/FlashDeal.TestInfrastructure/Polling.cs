using System.Diagnostics;
using System.Net.Sockets;

namespace FlashDeal.TestInfrastructure;

/// <summary>How the Redis fixtures wait for servers: poll a condition every 50 ms, a server not answering yet counts as "not yet".</summary>
internal static class Polling
{
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        Exception? last = null;
        while (deadline.Elapsed < timeout)
        {
            try
            {
                if (await condition().ConfigureAwait(false))
                {
                    return;
                }
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException
                                          or InvalidOperationException or FormatException or IndexOutOfRangeException)
            {
                last = e;
            }
            await Task.Delay(50).ConfigureAwait(false);
        }
        throw new TimeoutException($"Timed out after {deadline.Elapsed} waiting for {what}.", last);
    }
}
