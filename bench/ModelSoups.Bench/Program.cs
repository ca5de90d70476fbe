// Benchmarks: `dotnet run -c Release --project bench/ModelSoups.Bench -- <name>`.
// Each benchmark measures its baseline (memory copy, raw I/O, PyTorch) in the same run.
return ModelSoups.Bench.BenchMain.Run(args);
