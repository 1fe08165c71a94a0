using BenchmarkDotNet.Running;
using FlashDeal.Benchmarks;

// BenchmarkDotNet's own command line: --filter '*', --job short|dry (quick smoke), --list flat, ... Pass --inProcess: an
// out-of-process build cannot regenerate the contracts' gRPC sources in BenchmarkDotNet's temporary folder.
BenchmarkSwitcher.FromAssembly(typeof(RateLimitBenchmarks).Assembly).Run(args);
