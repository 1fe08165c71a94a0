using BenchmarkDotNet.Running;
using FlashDeal.Grpc.Benchmarks;

// BenchmarkDotNet's own command line: --filter '*', --job short|dry (quick smoke), --list flat, ...
BenchmarkSwitcher.FromAssembly(typeof(FramingBenchmarks).Assembly).Run(args);
