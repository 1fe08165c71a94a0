using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace FlashDeal.Top;

/// <summary>
/// The PromQL behind `top`: the flash-sale dashboard's questions over the last <see cref="Window"/> (short, so the view
/// follows the spike), against Prometheus's HTTP API. Every query is also checked after the e2e spike.
/// </summary>
public sealed class SaleQueries(HttpClient prometheus)
{
    public const string Window = "30s";
    private const string Place = "rpc_method=\"flashdeal.orders.v1.OrderService/PlaceOrder\"";

    public static readonly IReadOnlyDictionary<string, string> Queries = new Dictionary<string, string>
    {
        ["remaining"] = "max by (deal_id) (flashdeal_deal_stock_remaining)",
        ["initial"] = "max by (deal_id) (flashdeal_deal_stock_initial)",
        ["sell_out"] = "max by (deal_id) (flashdeal_deal_sell_out_time_seconds)",
        ["accepted_rate"] = $"sum by (deal_id) (rate(flashdeal_orders_placements_total{{outcome=\"ACCEPTED\",deal_id!=\"\"}}[{Window}]))",
        ["accepted_total"] = "sum by (deal_id) (flashdeal_orders_placements_total{outcome=\"ACCEPTED\",deal_id!=\"\"})",
        ["refusals"] = $"sum by (outcome) (rate(flashdeal_orders_placements_total{{outcome!=\"ACCEPTED\"}}[{Window}]))",
        ["p99"] = $"histogram_quantile(0.99, sum by (le) (rate(flashdeal_rpc_server_duration_seconds_bucket{{{Place}}}[{Window}])))",
        ["calls"] = $"sum by (outcome) (rate(flashdeal_rpc_server_duration_seconds_count{{{Place}}}[{Window}]))",
        ["lag"] = "max(flashdeal_orders_stream_lag)",
        ["health"] = "min by (job, instance) (flashdeal_health_check_status)",
    };

    public async Task<Snapshot> ReadAsync(CancellationToken cancellationToken)
    {
        var results = new Dictionary<string, List<Sample>>();
        foreach (var (name, query) in Queries)
        {
            results[name] = await QueryAsync(query, cancellationToken).ConfigureAwait(false);
        }
        return new Snapshot(DateTimeOffset.UtcNow, results);
    }

    public async Task<List<Sample>> QueryAsync(string query, CancellationToken cancellationToken)
    {
        using var response = await prometheus.GetAsync("api/v1/query?query=" + Uri.EscapeDataString(query),
            cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
        var samples = new List<Sample>();
        foreach (var item in json.RootElement.GetProperty("data").GetProperty("result").EnumerateArray())
        {
            var labels = item.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "");
            var text = item.GetProperty("value")[1].GetString();
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && !double.IsNaN(value))
            {
                samples.Add(new Sample(labels, value));
            }
        }
        return samples;
    }
}

public sealed record Sample(IReadOnlyDictionary<string, string> Labels, double Value)
{
    public string Label(string name) => Labels.TryGetValue(name, out var value) ? value : "";
}

public sealed record Snapshot(DateTimeOffset At, IReadOnlyDictionary<string, List<Sample>> Results)
{
    public IEnumerable<Sample> this[string name] => Results.TryGetValue(name, out var list) ? list : [];

    public double? One(string name, string? label = null, string? value = null) =>
        this[name].Where(s => label is null || s.Label(label) == value).Select(s => (double?)s.Value).FirstOrDefault();
}
