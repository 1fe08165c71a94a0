using FlashDeal.Top;
using Spectre.Console;

// ./flashdeal top [--prometheus URL] [--interval SECONDS] [--once]
// Prometheus comes from --prometheus, else FLASHDEAL_PROMETHEUS_URL (./flashdeal passes it from .data/mesh.env).
var prometheus = Environment.GetEnvironmentVariable("FLASHDEAL_PROMETHEUS_URL");
var interval = TimeSpan.FromSeconds(1);
var once = false;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--prometheus" when i + 1 < args.Length:
            prometheus = args[++i];
            break;
        case "--interval" when i + 1 < args.Length && double.TryParse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds >= 0.2:
            interval = TimeSpan.FromSeconds(seconds);
            i++;
            break;
        case "--once":
            once = true;
            break;
        default:
            Console.Error.WriteLine($"flashdeal top: unknown option '{args[i]}' (--prometheus URL, --interval SECONDS (>= 0.2), --once)");
            return 2;
    }
}
if (string.IsNullOrWhiteSpace(prometheus) || !Uri.TryCreate(prometheus.TrimEnd('/') + "/", UriKind.Absolute, out var baseUri))
{
    Console.Error.WriteLine("flashdeal top: no Prometheus: start the mesh with ./flashdeal up (it runs one), or pass --prometheus URL");
    return 1;
}

using var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(5) };
var queries = new SaleQueries(http);
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};

if (once || Console.IsOutputRedirected)
{
    try
    {
        AnsiConsole.Write(SaleView.Render(await queries.ReadAsync(stop.Token), prometheus));
        return 0;
    }
    catch (HttpRequestException e)
    {
        Console.Error.WriteLine($"flashdeal top: Prometheus at {prometheus} does not answer ({e.Message})");
        return 1;
    }
}

await AnsiConsole.Live(new Markup("[grey]asking Prometheus …[/]")).AutoClear(false).StartAsync(async live =>
{
    while (!stop.IsCancellationRequested)
    {
        try
        {
            live.UpdateTarget(SaleView.Render(await queries.ReadAsync(stop.Token), prometheus + "  (Ctrl-C to leave)"));
        }
        catch (HttpRequestException e)
        {
            live.UpdateTarget(new Markup($"[red]Prometheus at {Markup.Escape(prometheus)} does not answer:[/] {Markup.Escape(e.Message)}"));
        }
        catch (OperationCanceledException)
        {
            break;
        }
        live.Refresh();
        try
        {
            await Task.Delay(interval, stop.Token);
        }
        catch (OperationCanceledException)
        {
            break;
        }
    }
});
return 0;
