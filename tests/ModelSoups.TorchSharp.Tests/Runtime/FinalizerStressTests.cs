using ModelSoups.TorchSharp.Checkpoints;
using ModelSoups.TorchSharp.Data;
using ModelSoups.TorchSharp.Evaluation;
using ModelSoups.TorchSharp.Models;
using ModelSoups.TorchSharp.Soups;
using ModelSoups.TorchSharp.Tests.Data;
using ModelSoups.TorchSharp.Training;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Tests.Runtime;

/// <summary>
/// The greedy soup's inner loop (average, recalibrate BatchNorm, evaluate; plus the functional forward and the
/// noise augmentation) run many times while the GC and its finalizer thread are kept busy: from a background thread
/// in a loop and between iterations. A Scalar or Tensor left to the finalizer can be freed while libtorch still
/// reads it ("Unknown scalar type", a crash); with everything disposed on the calling thread every iteration must
/// give bit-identical results.
/// </summary>
public class FinalizerStressTests
{
    [Fact]
    public void Soup_recalibrate_evaluate_loop_survives_a_busy_finalizer_and_repeats_exactly()
    {
        manual_seed(11);
        var data = SyntheticImages.Create(96, 5);
        var spec = new ModelSpec { Architecture = ModelSpec.Cnn, Classes = SyntheticImages.Classes, ImageSize = SyntheticImages.Side, Width = 4 };
        var ingredients = Enumerable.Range(0, 3).Select(_ => (nn.Module)spec.Create()).ToList();
        using var soup = (SmallCnn)spec.Create();
        var noise = new Augmentation(Padding: 1, Flip: true, NoiseStd: 0.1f);

        using var stop = new CancellationTokenSource();
        var collector = new Thread(() =>
        {
            while (!stop.IsCancellationRequested) { GC.Collect(); GC.WaitForPendingFinalizers(); }
        }) { IsBackground = true };
        collector.Start();
        try
        {
            float[]? firstLogits = null;
            float[]? firstFunctional = null;
            float[]? firstNoise = null;
            for (int iteration = 0; iteration < 60; iteration++)
            {
                ModuleSoup.Uniform(soup, ingredients);
                BatchNormRecalibration.Run(soup, data, batches: 2, batchSize: 32, seed: 0, spec.Prepare);
                var (logits, _) = BatchedInference.Run(soup, spec, data, batchSize: 32);
                float[] functional, noisy;
                using (var scope = NewDisposeScope())
                {
                    var (x, _) = data.Batch(Enumerable.Range(0, 16).ToArray());
                    var state = soup.state_dict();
                    functional = soup.Forward(x, state).contiguous().data<float>().ToArray();
                    noisy = noise.Apply(x, 7).contiguous().data<float>().ToArray();
                }
                firstLogits ??= logits;
                firstFunctional ??= functional;
                firstNoise ??= noisy;
                Assert.Equal(firstLogits, logits);
                Assert.Equal(firstFunctional, functional);
                Assert.Equal(firstNoise, noisy);
                if (iteration % 4 == 0) { GC.Collect(); GC.WaitForPendingFinalizers(); }
            }
            // The state survives the loop intact: exporting and reloading gives the same bytes.
            var exported = ModuleState.Export(soup);
            ModuleState.Load(soup, ModuleState.ToCheckpoint(soup));
            Assert.Equal(exported.Select(e => e.Data), ModuleState.Export(soup).Select(e => e.Data));
        }
        finally
        {
            stop.Cancel();
            collector.Join();
            foreach (var m in ingredients) m.Dispose();
        }
    }

    /// <summary>
    /// Fine-tuning (our AdamW and SgdMomentum, ScalarSafeBatchNorm2d in train mode, augmentation, label smoothing)
    /// repeated while the finalizer thread is kept busy: every repetition must give the same bits.
    /// </summary>
    [Theory]
    [InlineData("adamw")]
    [InlineData("sgd")]
    public void Fine_tuning_survives_a_busy_finalizer_and_repeats_exactly(string optimizer)
    {
        var data = SyntheticImages.Create(64, 3);
        var spec = new ModelSpec { Architecture = ModelSpec.Cnn, Classes = SyntheticImages.Classes, ImageSize = SyntheticImages.Side, Width = 4 };
        var hp = new TrainingHyperparameters
        {
            Optimizer = optimizer, LearningRate = 0.01, WeightDecay = 0.05, Steps = 8, BatchSize = 16,
            Augmentation = 0.5, LabelSmoothing = 0.1, DataSeed = 5,
        };
        using var stop = new CancellationTokenSource();
        var collector = new Thread(() =>
        {
            while (!stop.IsCancellationRequested) { GC.Collect(); GC.WaitForPendingFinalizers(); }
        }) { IsBackground = true };
        collector.Start();
        try
        {
            byte[][]? first = null;
            for (int repetition = 0; repetition < 6; repetition++)
            {
                manual_seed(21);
                using var model = (SmallCnn)spec.Create();
                FineTune.Run(model, spec, data, data, hp);
                var state = ModuleState.Export(model).Select(e => e.Data).ToArray();
                first ??= state;
                Assert.Equal(first, state);
            }
        }
        finally
        {
            stop.Cancel();
            collector.Join();
        }
    }
}
