using FlashDeal.LoadTool.Cli;

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
return await LoadCommand.RunAsync(args, Console.Out, Console.Error, Environment.GetEnvironmentVariable, stop.Token);
