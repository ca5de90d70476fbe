namespace ModelSoups.Engine;

/// <summary>
/// The merge's threads: <c>threads</c> workers take items 0 … count − 1 in order from a shared counter until none
/// is left; the first failure stops the others (they finish the item in hand) and is rethrown once all have
/// stopped — a user error or a cancellation as it is, anything else as a bug.
/// </summary>
internal static class WorkerPool
{
    /// <summary>Runs <paramref name="work"/> for every item on <paramref name="threads"/> threads.</summary>
    public static void Run(int count, int threads, Action<int, CancellationToken> work, CancellationToken cancel)
    {
        int next = -1;
        Exception? failure = null;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        var workers = Enumerable.Range(0, threads).Select(w => new Thread(() =>
        {
            try
            {
                int i;
                while (!stop.IsCancellationRequested && (i = Interlocked.Increment(ref next)) < count)
                    work(i, stop.Token);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref failure, e, null);
                stop.Cancel();
            }
        }) { Name = $"soup-merge-{w}", IsBackground = true }).ToList();
        workers.ForEach(t => t.Start());
        workers.ForEach(t => t.Join());
        if (failure is not null && failure is not OperationCanceledException) throw Rethrow(failure);
        cancel.ThrowIfCancellationRequested();
        if (failure is not null) throw Rethrow(failure);
    }

    static Exception Rethrow(Exception e) =>
        e is ModelSoupsException or OperationCanceledException ? e : new InvalidOperationException($"merge failed: {e.Message}", e);
}
