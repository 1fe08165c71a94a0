using FlashDeal.Load;
using FlashDeal.LoadTool.Cli;

// The first Ctrl-C stops new iterations, lets those in flight finish and still checks and reports; a second one aborts.
using var stop = LoadRunner.CancelOnCtrlC(Console.Error);
return await LoadCommand.RunAsync(args, Console.Out, Console.Error, Environment.GetEnvironmentVariable, stop.Token);
