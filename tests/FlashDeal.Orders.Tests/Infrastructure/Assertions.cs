using FlashDeal.ServiceDefaults;
using Google.Rpc;
using Grpc.Core;

namespace FlashDeal.Orders.Tests;

public static class Assertions
{
    /// <summary>Awaits a call that must fail with <paramref name="code"/> and ErrorInfo <paramref name="reason"/>.</summary>
    public static async Task<ErrorInfo> RefusedAsync(Task call, StatusCode code, string reason)
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => call);
        Assert.Equal(code, e.StatusCode);
        var info = e.GetDetail<ErrorInfo>();
        Assert.NotNull(info);
        Assert.Equal(reason, info.Reason);
        Assert.Equal("orders.flashdeal.dev", info.Domain);
        return info;
    }

    /// <summary>Awaits a call that must fail with INVALID_ARGUMENT naming exactly these fields.</summary>
    public static async Task InvalidAsync(Task call, params string[] fields)
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => call);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        var badRequest = e.GetDetail<BadRequest>();
        Assert.NotNull(badRequest);
        Assert.Equal(fields.Order(), badRequest.FieldViolations.Select(v => v.Field).Distinct().Order());
    }
}
