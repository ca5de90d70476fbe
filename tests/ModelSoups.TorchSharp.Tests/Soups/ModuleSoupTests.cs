using ModelSoups.TorchSharp.Checkpoints;
using ModelSoups.TorchSharp.Models;
using ModelSoups.TorchSharp.Soups;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Tests.Soups;

public class ModuleSoupTests
{
    static SmallCnn Cnn(int seed, int forwards)
    {
        manual_seed(seed);
        var m = new SmallCnn(1, 3, width: 2);
        m.train();
        for (int i = 0; i < forwards; i++) { using var x = randn(2, 1, 8, 8); using var y = m.call(x); }
        return m;
    }

    [Fact]
    public void Uniform_soup_averages_floats_and_copies_integer_buffers_from_the_first()
    {
        using var a = Cnn(1, 2);
        using var b = Cnn(2, 5);
        using var c = Cnn(3, 1);
        using var soup = Cnn(9, 0);
        ModuleSoup.Uniform(soup, [a, b, c]);
        var sa = a.state_dict(); var sb = b.state_dict(); var sc = c.state_dict();
        foreach (var (name, t) in soup.state_dict())
        {
            if (name.EndsWith("num_batches_tracked"))
            {
                Assert.Equal(2L, t.item<long>());
                continue;
            }
            using var expected = (sa[name] + sb[name] + sc[name]) / 3;
            Assert.True(t.allclose(expected, rtol: 1e-6, atol: 1e-7), name);
        }
    }

    [Fact]
    public void Golden_average_of_two_linears()
    {
        using var a = nn.Linear(2, 1);
        using var b = nn.Linear(2, 1);
        using (no_grad())
        {
            a.weight!.copy_(tensor(new[] { 1f, 2f }).reshape(1, 2)); a.bias!.fill_(1f);
            b.weight!.copy_(tensor(new[] { 3f, -6f }).reshape(1, 2)); b.bias!.fill_(0f);
        }
        ModuleSoup.Uniform(a, [a, b]);  // target may be an ingredient
        Assert.Equal([2f, -2f], a.weight!.data<float>().ToArray());
        Assert.Equal(0.5f, a.bias!.item<float>());
    }

    [Fact]
    public void Soup_of_one_is_the_identity()
    {
        using var a = Cnn(4, 3);
        using var soup = Cnn(5, 0);
        ModuleSoup.Uniform(soup, [a]);
        var x = ModuleState.Export(a); var y = ModuleState.Export(soup);
        for (int i = 0; i < x.Count; i++) Assert.True(x[i].Data.AsSpan().SequenceEqual(y[i].Data), x[i].Info.Name);
    }

    [Fact]
    public void Module_soup_equals_the_in_memory_builders_soup_bit_for_bit()
    {
        // Both go through SoupAccumulator, so the sparse demo's saved soup is the one its greedy search scored.
        using var a = Cnn(1, 2);
        using var b = Cnn(2, 5);
        using var c = Cnn(3, 1);
        using var soup = Cnn(9, 0);
        ModuleSoup.Uniform(soup, [a, b, c]);
        var candidates = new[] { a, b, c }.Select((m, i) => ModelSoups.Evaluation.Candidate.FromCheckpoint($"m{i}", ModuleState.ToCheckpoint(m))).ToList();
        using var builder = new ModelSoups.Soups.InMemorySoupBuilder(candidates);
        builder.Start(0);
        builder.Accept(1);
        builder.Accept(2);
        var expected = builder.CurrentSoup();
        foreach (var (info, data) in ModuleState.Export(soup))
            Assert.True(expected.Tensors[info.Name].GetBytes().SequenceEqual(data), info.Name);
    }
}
