using ModelSoups.Merging;
using static ModelSoups.Tests.Merging.MergeRunner;

namespace ModelSoups.Tests.Merging;

/// <summary>
/// mergekit's semantics, against numbers PyTorch computes (float32, as mergekit computes) from
/// mergekit's method definitions in Reference/make_mergekit_golden.py (output committed as
/// Reference/mergekit_golden.txt). The tolerance 1e-6 is a few f32 ulps here (we accumulate norms
/// and dots in double where torch uses f32) and far below one ulp of bf16/f16 outputs. DARE and
/// DELLA masks come from our counter-based stream, which the script replays; mergekit's own
/// torch.bernoulli draws cannot be reproduced, only their distribution.
/// </summary>
public sealed class MergekitGoldenTests
{
    static readonly float[] Base = [0.10f, -0.20f, 0.30f, -0.40f, 0.50f, -0.60f, 0.70f, -0.80f];
    static readonly float[] A = [0.35f, -0.17f, 0.04f, -0.93f, 0.46f, -0.11f, 0.72f, -0.37f];
    static readonly float[] B = [-0.26f, -0.62f, 0.33f, 0.21f, 0.97f, -0.58f, 0.19f, -0.83f];
    static readonly float[] C = [0.12f, 0.41f, 0.92f, -0.44f, 0.08f, -1.23f, 0.68f, -0.06f];
    // Base plus small changes and two large ones (+0.9 at 3, −0.6 at 7), summed in f32 as the script does.
    static readonly float[] Spiky = [.. new[] { 0.01f, 0.02f, -0.01f, 0.9f, 0.01f, -0.02f, 0.015f, -0.6f }.Select((d, i) => Base[i] + d)];

    // Sparse changes over Base: element 0 changed by model 0 only, 1 by model 1 only, 2 by model 2 only,
    // 3 by all three, 5 by models 0 and 2, 7 by model 1 only, 4 and 6 by none.
    static readonly float[][] Sparse = [.. new[]
    {
        new[] { 0.2f, 0, 0, -0.1f, 0, 0.3f, 0, 0 },
        new[] { 0, 0.4f, 0, 0.2f, 0, 0, 0, -0.5f },
        new[] { 0, 0, 0.1f, 0.1f, 0, 0.3f, 0, 0 },
    }.Select(d => d.Select((x, i) => Base[i] + x).ToArray())];

    static void Weights(MergeParameters p) { p.Set("weight", 0, 1.0).Set("weight", 1, 0.7); if (p.ModelCount > 2) p.Set("weight", 2, 0.5); }

    static void Near(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-6f, $"element {i}: expected {expected[i]:R}, got {actual[i]:R}");
    }

    [Fact]
    public void Ties_default_is_mergekit_weighted_election_divided_by_agreeing_weights()
    {
        // mergekit ties, density 0.5 (keep 4 of 8), weights [1, 0.7, 0.5], election on the weighted vectors, normalize (default true) divides by the agreeing weights.
        Near([0.10000000149011612f, 0.4100000262260437f, 0.9200000166893005f, -0.9299999475479126f, 0.9700000286102295f, -0.11000001430511475f, 0.1899999976158142f, -0.2666666507720947f],
            Run("ties", [A, B, C], Base, p => { Weights(p); p.SetAll("density", 0.5); }));
    }

    [Fact]
    public void Ties_normalize_false_takes_effect()
    {
        // As above with normalize: false: the agreeing weighted sum, undivided (had no effect under PEFT's variant).
        Near([0.10000000149011612f, 0.10500000417232513f, 0.6100000143051147f, -0.9299999475479126f, 0.8289999961853027f, -0.11000001430511475f, 0.34299999475479126f, 0.0f],
            Run("ties", [A, B, C], Base, p => { Weights(p); p.SetAll("density", 0.5); p.Set("normalize", false); }));
    }

    [Fact]
    public void Ties_rescale_keeps_each_trimmed_vector_l1_norm()
    {
        // rescale: true multiplies each trimmed τ̂ by ‖τ‖₁/‖τ̂‖₁ (mergekit rescaled_masked_tensor), then λ = 0.8.
        Near([0.10000000149011612f, 0.38184624910354614f, 0.8913847208023071f, -0.9083040952682495f, 0.9583084583282471f, -0.13005849719047546f, 0.20268657803535461f, -0.289786159992218f],
            Run("ties", [A, B, C], Base, p => { Weights(p); p.SetAll("density", 0.5); p.Set("rescale", true).Set("lambda", 0.8); }));
    }

    [Fact]
    public void Dare_linear_default_rescales_to_the_l1_norm()
    {
        // mergekit dare_linear: keep each entry when U(seed, j) < 0.5 (our stream, replayed in the script), rescale by ‖τ‖₁/‖τ̂‖₁ (default), weighted sum, no normalisation.
        Near([0.10000000149011612f, 0.26348042488098145f, 0.3308084011077881f, 0.1960449516773224f, 0.9826647043228149f, -1.0581375360488892f, 2.211061477661133f, -0.2685534358024597f],
            Run("dare_linear", [A, B, C], Base, p => { Weights(p); p.SetAll("density", 0.5); }));
    }

    [Fact]
    public void Dare_ties_default_does_not_normalize()
    {
        // mergekit dare_ties: the same masks and L1 rescale, election on the weighted vectors, normalize false by default (mergekit registry).
        Near([0.10000000149011612f, 0.26348042488098145f, 0.3308084011077881f, 0.22643712162971497f, 0.9826647043228149f, -1.078676462173462f, 2.75f, -0.23774510622024536f],
            Run("dare_ties", [A, B, C], Base, p => { Weights(p); p.SetAll("density", 0.5); }));
    }

    [Fact]
    public void Dare_rescale_false_only_drops()
    {
        // rescale: false: survivors unscaled (mergekit bernoulli with rescale_norm None).
        Near([0.10000000149011612f, 0.10500000417232513f, 0.32100000977516174f, 0.006999999284744263f, 0.8289999961853027f, -0.9010000228881836f, 0.35300004482269287f, -0.4509999752044678f],
            Run("dare_linear", [A, B, C], Base, p => { Weights(p); p.SetAll("density", 0.5); p.Set("rescale", false); }));
    }

    [Fact]
    public void Breadcrumbs_default_counts_over_the_whole_tensor()
    {
        // mergekit magnitude_outliers over 8 elements: drop the ⌊0.2·8⌋ = 1 largest |τ|, keep the next ⌊0.5·8⌋ = 4; weighted sum.
        Near([0.09800002723932266f, -0.1889999955892563f, 0.3499999940395355f, -0.4000000059604645f, 0.6190000176429749f, -0.42500001192092896f, 0.34299999475479126f, -0.3700000047683716f],
            Run("breadcrumbs", [A, B, C], Base, p => { Weights(p); p.SetAll("density", 0.5); p.SetAll("gamma", 0.2); }));
    }

    [Fact]
    public void Breadcrumbs_ties_default_does_not_normalize()
    {
        // The same masks, election on the weighted vectors, normalize false by default.
        Near([-0.15199998021125793f, 0.10500000417232513f, 0.6100000143051147f, -0.4000000059604645f, 0.8289999961853027f, -0.11000001430511475f, 0.34299999475479126f, -0.3700000047683716f],
            Run("breadcrumbs_ties", [A, B, C], Base, p => { Weights(p); p.SetAll("density", 0.5); p.SetAll("gamma", 0.2); }));
    }

    [Fact]
    public void Task_arithmetic_ignores_density_and_normalizes_by_the_weight_sum()
    {
        // mergekit task_arithmetic: no sparsification (density 0.5 is ignored), Σ w τ / Σ w with normalize, λ = 0.5.
        Near([0.10181818902492523f, -0.1906818151473999f, 0.31613636016845703f, -0.4279545545578003f, 0.5179545283317566f, -0.5570454597473145f, 0.6211363673210144f, -0.6229545474052429f],
            Run("task_arithmetic", [A, B, C], Base, p => { Weights(p); p.SetAll("density", 0.5); p.Set("normalize", true).Set("lambda", 0.5); }));
    }

    [Fact]
    public void Della_ranks_within_rows_and_elects_signs()
    {
        // mergekit della on a [2, 4] tensor: keep probability 0.5 − 0.2 + 0.4·(r − 1)/3 by magnitude rank r in each row of 4, drawn from our stream; L1 rescale; weighted election; divided by the agreeing weights.
        Near([0.10000000149011612f, 0.7455000877380371f, 0.34454548358917236f, -1.444711446762085f, 1.1978788375854492f, 0.36586540937423706f, 0.24534094333648682f, 0.3470000624656677f],
            Run("della", [A, B, C], Base, p => { Weights(p); p.SetAll("density", 0.5); p.SetAll("epsilon", 0.2); }, shape: [2, 4]));
    }

    [Fact]
    public void Della_linear_is_a_weighted_sum()
    {
        // mergekit della_linear: the same masks and rescale, weighted sum, no normalisation.
        Near([0.10000000149011612f, 0.27275002002716064f, 0.3311818242073059f, -0.8106811046600342f, 0.9885151386260986f, -0.12238460779190063f, 0.19383227825164795f, -0.25768178701400757f],
            Run("della_linear", [A, B, C], Base, p => { Weights(p); p.SetAll("density", 0.5); p.SetAll("epsilon", 0.2); }, shape: [2, 4]));
    }

    [Fact]
    public void Sce_without_selection()
    {
        // mergekit sce, select_topk 1: weights mean(τ_i²)/Σ, erase entries against the sign of Σ τ, Σ_agree w τ / Σ_agree w.
        Near([-0.25999999046325684f, 0.2310314029455185f, 0.6946976184844971f, 0.21000000834465027f, 0.9700000286102295f, -1.2300000190734863f, 0.49288448691368103f, -0.1556556224822998f],
            Run("sce", [A, B, C], Base));
    }

    [Fact]
    public void Sce_selects_the_highest_variance_half()
    {
        // select_topk 0.5: ⌊0.5·8⌋ = 4 elements with the largest variance across the models survive in every τ.
        Near([0.10000000149011612f, 0.21400685608386993f, 0.7297242879867554f, 0.21000000834465027f, 0.5f, -1.2300000190734863f, 0.699999988079071f, -0.800000011920929f],
            Run("sce", [A, B, C], Base, p => p.Set("select_topk", 0.5)));
    }

    [Fact]
    public void Nuslerp_flattened_from_weights()
    {
        // mergekit nuslerp, weights [1, 3] → t = 3/4, flattened (default), no base.
        Near([-0.10752753168344498f, -0.5762167572975159f, 0.2906251847743988f, -0.11921197921037674f, 0.9632678031921387f, -0.523432731628418f, 0.38919997215270996f, -0.8167241215705872f],
            Run("nuslerp", [A, B], set: p => p.Set("weight", 0, 1.0).Set("weight", 1, 3.0)));
    }

    [Fact]
    public void Nuslerp_rows_of_task_vectors()
    {
        // nuslerp_flatten false: one slerp per row (last dimension) of the task vectors, added to the base.
        Near([-0.23699691891670227f, -0.8636985421180725f, 0.08081018924713135f, 0.06102782487869263f, 0.9282705783843994f, -0.38510677218437195f, 0.22591975331306458f, -0.6563680171966553f],
            Run("nuslerp", [A, B], Base, p => p.Set("weight", 0, 1.0).Set("weight", 1, 3.0).Set("nuslerp_flatten", false), shape: [2, 4]));
    }

    [Fact]
    public void Nuslerp_row_wise_interpolates_columns()
    {
        // nuslerp_row_wise: vectors along dimension 0 (the 4 columns of a [2, 4] tensor).
        Near([-0.10772722959518433f, -0.5087851881980896f, 0.27874305844306946f, -0.14362530410289764f, 0.9066968560218811f, -0.463641494512558f, 0.364918977022171f, -0.8697843551635742f],
            Run("nuslerp", [A, B], set: p => p.Set("weight", 0, 1.0).Set("weight", 1, 3.0).Set("nuslerp_flatten", false).Set("nuslerp_row_wise", true), shape: [2, 4]));
    }

    [Fact]
    public void Multislerp_of_three_models()
    {
        // mergekit multislerp, weights [1, 0.7, 0.5] normalised: tangent-space mean of the unit vectors, scaled by the weighted mean norm.
        Near([0.15891899168491364f, -0.2523565888404846f, 0.38972008228302f, -0.6423966884613037f, 0.7058085203170776f, -0.6129973530769348f, 0.7222886085510254f, -0.586220920085907f],
            Run("multislerp", [A, B, C], set: Weights));
    }

    [Fact]
    public void Multislerp_of_task_vectors()
    {
        // With a base, the task vectors are interpolated and the base added back.
        Near([0.15646494925022125f, -0.22142912447452545f, 0.25341692566871643f, -0.6397416591644287f, 0.6319867968559265f, -0.2127426266670227f, 0.314553439617157f, 0.0760079026222229f],
            Run("multislerp", [A, B, C], Base, Weights));
    }

    [Fact]
    public void Karcher_mean_of_three_models()
    {
        // mergekit karcher: equal weights, at most 10 iterations, tol 1e-5; scaled by the mean norm.
        Near([0.10877041518688202f, -0.1970384418964386f, 0.5220422148704529f, -0.5463424921035767f, 0.6862092614173889f, -0.7870193719863892f, 0.7090546488761902f, -0.5720250606536865f],
            Run("karcher", [A, B, C]));
    }

    [Fact]
    public void Karcher_counts_the_base_as_a_point_and_stops_at_max_iter()
    {
        // mergekit gathers the base with the models; max_iter 2 stops before convergence.
        Near([0.09146337956190109f, -0.36946749687194824f, 0.24951927363872528f, -0.46649935841560364f, 0.7306631803512573f, -0.48294082283973694f, 0.6365618705749512f, -0.7575755715370178f],
            Run("karcher", [A, B], Base, p => p.Set("max_iter", 2)));
    }

    [Fact]
    public void Nearswap_moves_only_near_elements()
    {
        // mergekit nearswap, t = 0.1: w = clamp(0.1/|base − a|, 0, 1); w·a + (1 − w)·base.
        Near([0.20000000298023224f, -0.17000000178813934f, 0.20000001788139343f, -0.5f, 0.46000000834465027f, -0.5f, 0.7200000286102295f, -0.7000000476837158f],
            Run("nearswap", [A], Base, p => p.Set("t", 0.1)));
    }

    [Fact]
    public void Arcee_fusion_moves_only_important_elements()
    {
        // mergekit arcee_fusion on a [2, 4] tensor: only the two large changes (+0.9, −0.6) score above median + 1.5·IQR; the rest keep the base.
        Near([0.10000000149011612f, -0.20000000298023224f, 0.30000001192092896f, 0.4999999701976776f, 0.5f, -0.6000000238418579f, 0.699999988079071f, -1.4000000953674316f],
            Run("arcee_fusion", [Spiky], Base, shape: [2, 4]));
    }

    [Fact]
    public void Slerp_from_the_base_toward_the_other_model()
    {
        // mergekit's form: base_model is one end (t = 0), the single other model the other; t = 0.3.
        Near([0.18512511253356934f, -0.20006126165390015f, 0.231052964925766f, -0.5895781517028809f, 0.5113920569419861f, -0.471739262342453f, 0.7403533458709717f, -0.7007005214691162f],
            Run("slerp", [A], Base, p => p.Set("t", 0.3)));
    }

    [Fact]
    public void Model_stock_filter_wise_takes_one_t_per_row()
    {
        // mergekit model_stock, filter_wise: mean pairwise cosine and t per row of a [2, 4] tensor.
        Near([0.7579920291900635f, -1.808424711227417f, -2.551297187805176f, -0.6924409866333008f, 0.49856120347976685f, -0.5827345848083496f, 0.7733779549598694f, -0.9640212655067444f],
            Run("model_stock", [A, B, C], Base, p => p.Set("filter_wise", true), shape: [2, 4]));
    }

    [Fact]
    public void Ram_keeps_unique_changes_and_averages_shared_ones()
    {
        // mergekit ram: element 0 → base + 0.2 (one model); 3 → base + (−0.1 + 0.2 + 0.1)/3; 4 → base.
        Near([0.30000001192092896f, 0.20000000298023224f, 0.4000000059604645f, -0.3333333432674408f, 0.5f, -0.30000001192092896f, 0.699999988079071f, -1.2999999523162842f],
            Run("ram", Sparse, Base));
    }

    [Fact]
    public void Ramplus_tl_amplifies_unique_changes_by_the_overlap_ratio()
    {
        // mergekit ramplus_tl, r 0.5, α 0.8: model 0 changes 1 element alone and 2 shared → ρ = 2 → λ = 1 + 0.5·0.8 = 1.4,
        // so element 0 → 0.1 + 1.4·0.2 = 0.38; model 1: 2 alone, 1 shared → ρ = 0.5 → λ = 1.25: element 7 → −0.8 − 1.25·0.5.
        Near([0.3800000250339508f, 0.30000001192092896f, 0.4399999976158142f, -0.3333333432674408f, 0.5f, -0.30000001192092896f, 0.699999988079071f, -1.4249999523162842f],
            Run("ramplus_tl", Sparse, Base, p => p.Set("r", 0.5).Set("alpha", 0.8)));
    }
}
