using FlashDeal.Grpc.Testing;
using FlashDeal.Grpc.Testing.V1;

namespace FlashDeal.Grpc.Tests.IntegrationTests;

public sealed class DeadlineStatusTests : IAsyncLifetime
{
    private EchoServerHost _host = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _host = await EchoServerHost.StartAsync();
        _client = H2cTestCall<EchoResponse>.CreateClient(_host.GrpcAddress);
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _host.DisposeAsync();
    }

    // Sub-millisecond timeouts (buf sends e.g. "137733u") make the deadline timer fire a little before the wall clock
    // reaches the deadline; the handler's cancellation must still end as DEADLINE_EXCEEDED, not UNKNOWN.
    [Fact]
    public async Task HandlerCancelledByTheDeadlineTimerEndsWithDeadlineExceeded()
    {
        var calls = Enumerable.Range(0, 200).Select(async i =>
        {
            await using var call = new H2cTestCall<EchoResponse>(_client, "/flashdeal.testing.v1.EchoService/Sleep",
                EchoResponse.Parser, headers: [new("grpc-timeout", $"{20_000 + (i * 137) + 999}u")]);
            await call.SendAsync(new SleepRequest { DelayMs = 2000 });
            call.CompleteRequest();
            return await call.ReadStatusAsync();
        });
        foreach (var (code, message) in await Task.WhenAll(calls))
        {
            Assert.True(code == StatusCode.DeadlineExceeded, $"{code}: {message}");
        }
    }
}
