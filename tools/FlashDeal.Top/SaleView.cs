using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace FlashDeal.Top;

/// <summary>One frame of `top`: live deals, refusals by reason, PlaceOrder latency and outcomes, stream lag, replicas.</summary>
public static class SaleView
{
    public static IRenderable Render(Snapshot s, string source)
    {
        var deals = new Table().Border(TableBorder.Rounded).Title("[bold]live deals[/]")
            .AddColumns("deal", "stock left", "sold", "accepted/s", "accepted", "sell-out");
        var ids = s["remaining"].Select(x => x.Label("deal_id")).Concat(s["accepted_total"].Select(x => x.Label("deal_id")))
            .Where(id => id.Length > 0).Distinct().Order(StringComparer.Ordinal).ToList();
        foreach (var id in ids)
        {
            var remaining = s.One("remaining", "deal_id", id);
            var initial = s.One("initial", "deal_id", id);
            var sold = remaining is { } r && initial is > 0 ? 1 - r / initial.Value : (double?)null;
            deals.AddRow(id, Number(remaining) + (initial is { } i ? " / " + Number(i) : ""), Percent(sold),
                Rate(s.One("accepted_rate", "deal_id", id)), Number(s.One("accepted_total", "deal_id", id)),
                s.One("sell_out", "deal_id", id) is { } t ? t.ToString("0.0", CultureInfo.InvariantCulture) + " s" : "-");
        }
        if (ids.Count == 0)
        {
            deals.AddRow("[grey]no live deal[/]", "", "", "", "", "");
        }

        var refusals = new Table().Border(TableBorder.Rounded).Title($"[bold]PlaceOrder answers/s ({SaleQueries.Window})[/]")
            .AddColumns("outcome", "per s");
        foreach (var x in s["refusals"].OrderByDescending(x => x.Value))
        {
            refusals.AddRow(x.Label("outcome"), Rate(x.Value));
        }

        var calls = new Table().Border(TableBorder.Rounded).Title("[bold]PlaceOrder calls[/]").AddColumns("", "");
        foreach (var x in s["calls"].OrderBy(x => x.Label("outcome"), StringComparer.Ordinal))
        {
            var colour = x.Label("outcome") == "fault" && x.Value > 0 ? "red" : "default";
            calls.AddRow(x.Label("outcome"), $"[{colour}]{Rate(x.Value)}/s[/]");
        }
        calls.AddRow("p99", s.One("p99") is { } p99 ? (p99 * 1000).ToString("0.0", CultureInfo.InvariantCulture) + " ms" : "-");
        calls.AddRow("stream lag", Number(s.One("lag")));

        var replicas = new Table().Border(TableBorder.Rounded).Title("[bold]replicas[/]").AddColumns("job", "instance", "ready");
        foreach (var x in s["health"].OrderBy(x => x.Label("job"), StringComparer.Ordinal).ThenBy(x => x.Label("instance"), StringComparer.Ordinal))
        {
            replicas.AddRow(x.Label("job"), x.Label("instance"), x.Value >= 1 ? "[green]yes[/]" : "[red]NO[/]");
        }

        return new Rows(
            new Markup($"[bold]FlashDeal top[/]  {s.At:HH:mm:ss} UTC  [grey]{Markup.Escape(source)}[/]"),
            deals,
            new Columns(refusals, calls, replicas));
    }

    private static string Number(double? value) => value is { } v ? v.ToString("0", CultureInfo.InvariantCulture) : "-";

    private static string Rate(double? value) => value is { } v ? v.ToString(v < 10 ? "0.0" : "0", CultureInfo.InvariantCulture) : "-";

    private static string Percent(double? value) => value is { } v ? v.ToString("0%", CultureInfo.InvariantCulture) : "-";
}
