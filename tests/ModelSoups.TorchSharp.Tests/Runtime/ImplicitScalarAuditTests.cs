using System.Reflection;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelSoups.TorchSharp.Tests.Runtime;

/// <summary>
/// TorchSharp 0.107 turns numbers into <see cref="Scalar"/>s implicitly (<c>t * 2f</c>, <c>t.fill_(1)</c>, and even
/// <c>a + b</c>, which is add(b, alpha: 1)) and never disposes them; the finalizer thread can then free one while
/// libtorch still reads it ("Unknown scalar type", heap corruption; dotnet/TorchSharp#1434, #1496). This test reads
/// the IL of every method of ModelSoups.TorchSharp and fails on any implicit conversion, or any call of a TorchSharp
/// method that makes a Scalar (itself or one call deeper) without disposing it. Explicit <c>ToScalar()</c> is allowed
/// only in a method that also disposes a Scalar (the <c>using var s = x.ToScalar();</c> pattern).
/// </summary>
public class ImplicitScalarAuditTests
{
    const BindingFlags All = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
    static readonly Assembly Torch = typeof(Scalar).Assembly;

    [Fact]
    public void No_method_of_the_library_leaves_a_Scalar_to_the_finalizer()
    {
        var library = typeof(ModelSoups.TorchSharp.Training.FineTune).Assembly;
        var cache = new Dictionary<MethodBase, bool>();
        var offences = new List<string>();
        foreach (var type in library.GetTypes())
            foreach (var method in type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All)))
            {
                var callees = Callees(method);
                bool disposes = callees.Any(IsScalarDispose);
                foreach (var callee in callees)
                {
                    if (IsImplicit(callee))
                        offences.Add($"{type.FullName}.{method.Name}: implicit {callee}");
                    else if (IsToScalar(callee) && !disposes)
                        offences.Add($"{type.FullName}.{method.Name}: ToScalar without Dispose");
                    else if (callee.DeclaringType?.Assembly == Torch && Leaks(callee, 1, cache))
                        offences.Add($"{type.FullName}.{method.Name}: {callee.DeclaringType.Name}.{callee} makes a Scalar it does not dispose");
                }
            }
        Assert.True(offences.Count == 0, string.Join("\n", offences.Distinct()));
    }

    [Fact]
    public void The_audit_sees_the_leaks_it_is_meant_to_find()
    {
        var cache = new Dictionary<MethodBase, bool>();
        Assert.True(Leaks(typeof(Tensor).GetMethod("op_Multiply", [typeof(Tensor), typeof(float)])!, 1, cache));
        Assert.True(Leaks(typeof(Tensor).GetMethod("op_Addition", [typeof(Tensor), typeof(Tensor)])!, 1, cache));
        Assert.True(Leaks(typeof(Tensor).GetMethod("add_", [typeof(Tensor)])!, 1, cache));
        Assert.False(Leaks(typeof(Tensor).GetMethod("add", [typeof(Tensor), typeof(Scalar)])!, 1, cache));
        Assert.False(Leaks(typeof(Tensor).GetMethod("op_Multiply", [typeof(Tensor), typeof(Tensor)])!, 1, cache));
        Assert.Contains(Callees(typeof(ImplicitScalarAuditTests).GetMethod(nameof(ImplicitSample), All)!), IsImplicit);
    }

    static Tensor ImplicitSample(Tensor t) => t.mul(2.0);

    /// <summary>
    /// TorchSharp's own optimizers (step() leaks Scalars per parameter) and BatchNorm modules (train-mode forward
    /// increments num_batches_tracked with a leaked Scalar) are not to be built by the library: it has AdamW,
    /// SgdMomentum and ScalarSafeBatchNorm2d instead. Their leaks sit behind virtual calls the scan above cannot follow.
    /// </summary>
    [Fact]
    public void The_library_builds_no_torch_optim_optimizer_and_no_nn_BatchNorm()
    {
        var library = typeof(ModelSoups.TorchSharp.Training.FineTune).Assembly;
        var offences = new List<string>();
        foreach (var type in library.GetTypes())
            foreach (var method in type.GetMethods(All).Cast<MethodBase>().Concat(type.GetConstructors(All)))
                foreach (var callee in Callees(method).Where(BuildsLeakyModule))
                    offences.Add($"{type.FullName}.{method.Name}: {callee.DeclaringType?.Name}.{callee.Name}");
        Assert.True(offences.Count == 0, string.Join("\n", offences.Distinct()));
    }

    [Fact]
    public void The_construction_audit_sees_what_it_is_meant_to_find()
    {
        Assert.Contains(Callees(typeof(ImplicitScalarAuditTests).GetMethod(nameof(OptimizerSample), All)!), BuildsLeakyModule);
        Assert.Contains(Callees(typeof(ImplicitScalarAuditTests).GetMethod(nameof(OptimizerConstructorSample), All)!), BuildsLeakyModule);
        Assert.Contains(Callees(typeof(ImplicitScalarAuditTests).GetMethod(nameof(BatchNormSample), All)!), BuildsLeakyModule);
        Assert.DoesNotContain(Callees(typeof(ImplicitScalarAuditTests).GetMethod(nameof(SafeSample), All)!), BuildsLeakyModule);
    }

    static object OptimizerSample(IEnumerable<global::TorchSharp.Modules.Parameter> p) => optim.AdamW(p);
    static object OptimizerConstructorSample(IEnumerable<global::TorchSharp.Modules.Parameter> p) => new global::TorchSharp.Modules.SGD(p, 0.1);
    static object BatchNormSample() => nn.BatchNorm2d(3);
    static object SafeSample(IEnumerable<global::TorchSharp.Modules.Parameter> p) =>
        (new ModelSoups.TorchSharp.Models.ScalarSafeBatchNorm2d(3), new ModelSoups.TorchSharp.Training.AdamW(p));

    /// <summary>A torch.optim factory or optimizer constructor, or an nn.BatchNorm* factory or BatchNorm constructor.</summary>
    static bool BuildsLeakyModule(MethodBase m)
    {
        var type = m.DeclaringType;
        if (type is null || type.Assembly != Torch) return false;
        bool isOptimizer(Type t) => typeof(optim.Optimizer).IsAssignableFrom(t);
        bool isBatchNorm(Type t) => typeof(global::TorchSharp.Modules.BatchNorm).IsAssignableFrom(t);
        if (m is ConstructorInfo) return isOptimizer(type) || isBatchNorm(type);
        if (m is not MethodInfo { ReturnType: var returns }) return false;
        return type == typeof(optim) && isOptimizer(returns) || type == typeof(nn) && isBatchNorm(returns);
    }


    static bool Leaks(MethodBase method, int depth, Dictionary<MethodBase, bool> cache)
    {
        if (cache.TryGetValue(method, out var known)) return known;
        cache[method] = false;  // cycles
        var callees = Callees(method);
        bool leaks = callees.Any(c => IsImplicit(c) || IsToScalar(c)) && !callees.Any(IsScalarDispose)
            || depth > 0 && callees.Any(c => c.DeclaringType?.Assembly == Torch && Leaks(c, depth - 1, cache));
        cache[method] = leaks;
        return leaks;
    }

    static bool IsImplicit(MethodBase m) => m.DeclaringType == typeof(Scalar) && m.Name == "op_Implicit";
    static bool IsToScalar(MethodBase m) => m.DeclaringType == typeof(ScalarExtensionMethods) && m.Name.StartsWith("To", StringComparison.Ordinal) && m.Name.EndsWith("Scalar", StringComparison.Ordinal);
    // `using var s = ...` compiles to IDisposable.Dispose.
    static bool IsScalarDispose(MethodBase m) => (m.DeclaringType == typeof(Scalar) || m.DeclaringType == typeof(IDisposable)) && m.Name == "Dispose";

    /// <summary>Methods called (call, callvirt, newobj) by the IL of <paramref name="method"/>.</summary>
    static List<MethodBase> Callees(MethodBase method)
    {
        var il = method.GetMethodBody()?.GetILAsByteArray();
        var result = new List<MethodBase>();
        if (il is null) return result;
        var typeArgs = method.DeclaringType is { IsGenericType: true } t ? t.GetGenericArguments() : null;
        var methodArgs = method.IsGenericMethod ? method.GetGenericArguments() : null;
        // A byte scan, not a decoder: a false token only resolves to some method by chance, and a call is never missed.
        for (int i = 0; i + 4 < il.Length; i++)
        {
            if (il[i] is not (0x28 or 0x6F or 0x73)) continue;  // call, callvirt, newobj
            int token = BitConverter.ToInt32(il, i + 1);
            if ((token >> 24) is not (0x06 or 0x0A or 0x2B)) continue;  // MethodDef, MemberRef, MethodSpec
            try { if (method.Module.ResolveMethod(token, typeArgs, methodArgs) is { } m) result.Add(m); }
            catch (ArgumentException) { }
            catch (BadImageFormatException) { }
            catch (TypeLoadException) { }
        }
        return result;
    }
}
