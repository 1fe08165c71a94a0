namespace FlashDeal.LoadTool.Api;

/// <summary>A call that did not succeed, already classified (see <see cref="Outcomes"/>).</summary>
public sealed class ApiException(string outcome, string detail, Exception? inner = null)
    : Exception($"{outcome}: {detail}", inner)
{
    /// <summary>The ErrorInfo reason (SOLD_OUT), else the gRPC status name (UNAVAILABLE), else HTTP_&lt;code&gt;.</summary>
    public string Outcome { get; } = outcome;

    public string Detail { get; } = detail;
}
