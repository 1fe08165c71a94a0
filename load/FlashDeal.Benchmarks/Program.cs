using BenchmarkDotNet.Running;
using FlashDeal.Benchmarks;

// BenchmarkDotNet's own command line: --filter '*', --job short|dry (quick smoke), --list flat, ...
BenchmarkSwitcher.FromAssembly(typeof(RateLimitBenchmarks).Assembly).Run(args);
