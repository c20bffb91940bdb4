using Pipeline.Enricher.Dedupe;

namespace Pipeline.Enricher.Tests.Dedupe;

/// <summary>
/// The dedupe memory's queue holds what a <see cref="Queue{T}"/> beside a <see cref="HashSet{T}"/> held, in the same
/// order, under any mix of its operations, including keys that crowd the same places of its table.
/// </summary>
public sealed class IdQueueTests
{
    [Theory]
    [InlineData(1, 0xFFFF_FFFF_FFFF_FFFFUL, 3_000)] // keys spread as hashes are
    [InlineData(2, 0x7UL, 3_000)]                   // eight homes for every key: long runs, every deletion shifts entries back
    [InlineData(3, 0x0UL, 400)]                     // one home for every key: the table is one run
    [InlineData(4, 0xF0UL, 20_000)]                 // homes apart, runs that wrap round the table's end
    public void Holds_what_a_queue_and_a_set_hold_whatever_is_done_to_it(int seed, ulong lowBits, int steps)
    {
        var random = new Random(seed);
        var keys = Enumerable.Range(0, 600).Select(_ => new Key128((ulong)random.NextInt64() & lowBits, (ulong)random.NextInt64())).Distinct().ToArray();
        var ids = new IdQueue();
        var order = new Queue<Slot>();
        var set = new HashSet<Key128>();

        for (int step = 0; step < steps; step++)
        {
            int op = random.Next(100);
            if (op < 55 || order.Count == 0)
            {
                var slot = new Slot(keys[random.Next(keys.Length)], random.NextInt64(), random.Next(10));
                bool added = set.Add(slot.Key);
                if (added) order.Enqueue(slot);
                Assert.Equal(added, ids.TryEnqueue(slot));
            }
            else if (op < 80)
            {
                var expected = order.Dequeue();
                set.Remove(expected.Key);
                Assert.Equal(expected, ids.Dequeue());
            }
            else if (op < 97)
            {
                Assert.Equal(order.Peek(), ids.Peek());
                order.Enqueue(order.Dequeue());
                ids.Requeue();
            }
            else if (op < 98)
            {
                // Room made ahead for a batch (the core's reserve): the ring and table grow in one step, nothing held changes.
                ids.EnsureCapacity(order.Count + random.Next(3_000));
            }
            else
            {
                var shuffled = order.ToArray();
                random.Shuffle(shuffled);
                order = new Queue<Slot>(shuffled);
                ids.Replace(shuffled);
            }

            Assert.Equal(order.Count, ids.Count);
            if (step % 50 == 0 || step == steps - 1)
            {
                Assert.Equal(order, ids.InOrder());
                // Every key held is found (a second add is refused), and every other is not.
                foreach (var key in keys)
                {
                    var probe = new Slot(key, 0, 0);
                    bool held = set.Contains(key);
                    Assert.Equal(!held, ids.TryEnqueue(probe));
                    if (!held)
                    {
                        // Added only to check: taken back out through the queue's own operations, order kept.
                        for (int i = 0; i < order.Count; i++) ids.Requeue();
                        Assert.Equal(probe, ids.Dequeue());
                    }
                }
                Assert.Equal(order, ids.InOrder());
            }
        }
    }

    [Fact]
    public void An_empty_queue_says_so_and_reading_it_while_it_changes_is_refused()
    {
        var ids = new IdQueue();
        Assert.Throws<InvalidOperationException>(() => ids.Peek());
        Assert.Throws<InvalidOperationException>(() => ids.Dequeue());
        ids.TryEnqueue(new Slot(new Key128(1, 1), 0, 0));
        ids.TryEnqueue(new Slot(new Key128(2, 2), 0, 0));
        Assert.Throws<InvalidOperationException>(() =>
        {
            foreach (var _ in ids.InOrder()) ids.TryEnqueue(new Slot(new Key128(3, 3), 0, 0));
        });
        // Shrunk after the last slot was read: still refused, not a quiet end.
        Assert.Throws<InvalidOperationException>(() =>
        {
            int read = 0;
            foreach (var _ in ids.InOrder())
                if (++read == ids.Count) ids.Dequeue();
        });
    }
}
