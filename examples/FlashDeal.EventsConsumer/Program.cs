using FlashDeal.Contracts.Events.V1;
using FlashDeal.EventsConsumer;
using StackExchange.Redis;

// dotnet run --project examples/FlashDeal.EventsConsumer -- [--redis host:port] [--stream orders|coupons]
//     [--group NAME] [--consumer NAME] [--from 0|$] [--claim-idle SECONDS]
var options = new Dictionary<string, string>(StringComparer.Ordinal)
{
    ["--redis"] = Environment.GetEnvironmentVariable("FLASHDEAL_REDIS") ?? "127.0.0.1:6379",
    ["--stream"] = "orders",
    ["--group"] = "events-example",
    ["--consumer"] = Environment.MachineName,
    ["--from"] = "$",
    ["--claim-idle"] = "60",
};
for (var i = 0; i + 1 < args.Length; i += 2)
{
    if (!options.ContainsKey(args[i]))
    {
        Console.Error.WriteLine($"Unknown option {args[i]}; known: {string.Join(", ", options.Keys)}");
        return 2;
    }
    options[args[i]] = args[i + 1];
}
var stream = options["--stream"] switch
{
    "orders" => EventStreams.Orders,
    "coupons" => EventStreams.Coupons,
    var other => other,
};

using var redis = await ConnectionMultiplexer.ConnectAsync(options["--redis"]);
var consumer = new EventStreamConsumer(redis.GetDatabase(), stream, options["--group"], options["--consumer"],
    TimeSpan.FromSeconds(double.Parse(options["--claim-idle"], System.Globalization.CultureInfo.InvariantCulture)));
await consumer.JoinAsync(fromStart: options["--from"] == "0");
Console.Error.WriteLine($"Consuming {stream} as {options["--consumer"]} in group {options["--group"]}; Ctrl+C to stop.");

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
try
{
    await consumer.RunAsync(delivered =>
    {
        Console.WriteLine(EventStreamConsumer.Describe(delivered));
        return Task.CompletedTask;
    }, TimeSpan.FromMilliseconds(200), stop.Token);
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
}
return 0;
