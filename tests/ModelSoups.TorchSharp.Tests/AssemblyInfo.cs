// libtorch's random generator (torch.manual_seed) and its thread settings are process-wide: tests that seed and
// then draw (model initialisation, dropout, data order) would see each other's draws if they ran in parallel, and
// the bit-for-bit repeatability tests would fail at random. The TorchSharp tests therefore run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
