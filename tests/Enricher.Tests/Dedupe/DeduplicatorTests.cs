using Pipeline.Enricher.Configuration;
using Pipeline.Enricher.Dedupe;

namespace Pipeline.Enricher.Tests.Dedupe;

public sealed class DeduplicatorTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Second_delivery_of_the_same_event_is_a_duplicate()
    {
        var d = new Deduplicator(new DedupeOptions());
        Assert.True(d.TryAdd("111122223333", "e1", T0));
        Assert.False(d.TryAdd("111122223333", "e1", T0));
        Assert.True(d.TryAdd("111122223333", "e2", T0));
    }

    [Fact]
    public void Room_reserved_for_a_batch_changes_nothing_remembered_and_the_copy_is_the_entries_in_order()
    {
        var d = new Deduplicator(new DedupeOptions { MaxEntries = 50 });
        for (int i = 0; i < 30; i++) Assert.True(d.TryAdd("111122223333", "e" + i, T0.AddSeconds(i)));
        d.Reserve(10_000); // more than the cap: room for the cap and one, no more is kept
        for (int i = 30; i < 80; i++) Assert.True(d.TryAdd("444455556666", "e" + i, T0.AddSeconds(i)));
        Assert.Equal(50, d.Count);
        Assert.Equal(30, d.EvictedEarly);
        Assert.False(d.TryAdd("444455556666", "e79", T0.AddSeconds(80)));
        Assert.True(d.TryAdd("111122223333", "e0", T0.AddSeconds(80))); // evicted at the cap
        Assert.Equal(d.Entries.ToArray(), d.CopyEntries());
        Assert.Equal(T0.AddSeconds(31).UtcTicks, d.CopyEntries()[0].TimeTicks); // e30 went at the cap when e0 came back
    }

    [Fact]
    public void Same_event_id_in_another_account_is_not_a_duplicate()
    {
        var d = new Deduplicator(new DedupeOptions());
        Assert.True(d.TryAdd("111122223333", "e1", T0));
        Assert.True(d.TryAdd("444455556666", "e1", T0));
    }

    [Fact]
    public void Ids_older_than_the_horizon_are_forgotten()
    {
        var d = new Deduplicator(new DedupeOptions { Horizon = TimeSpan.FromMinutes(10) });
        d.TryAdd("111122223333", "old", T0);
        d.TryAdd("111122223333", "new", T0.AddMinutes(11));
        d.TryAdd("444455556666", "other", T0.AddMinutes(11)); // a second account confirms the time moved past the horizon
        Assert.Equal(2, d.Count);
        Assert.True(d.TryAdd("111122223333", "old", T0.AddMinutes(11))); // forgotten, so accepted again
        Assert.False(d.TryAdd("111122223333", "new", T0.AddMinutes(11)));
    }

    [Fact]
    public void One_event_dated_a_year_ahead_makes_it_forget_nothing()
    {
        var d = new Deduplicator(new DedupeOptions());
        Assert.True(d.TryAdd("111122223333", "a", T0));
        Assert.True(d.TryAdd("444455556666", "future", T0.AddYears(1)));
        Assert.False(d.TryAdd("111122223333", "a", T0.AddMinutes(1))); // the redelivery is still a duplicate
        Assert.Equal(2, d.Count);
    }

    [Fact]
    public void A_jump_past_the_horizon_moves_it_once_another_account_or_enough_records_of_one_confirm_it()
    {
        var byTwo = new Deduplicator(new DedupeOptions());
        byTwo.TryAdd("111122223333", "a", T0);
        byTwo.TryAdd("444455556666", "x", T0.AddDays(1));
        Assert.Equal(2, byTwo.Count);
        byTwo.TryAdd("777788889999", "y", T0.AddDays(1)); // another account there too: time really moved
        Assert.True(byTwo.TryAdd("111122223333", "a", T0.AddDays(1))); // forgotten, as an id older than the horizon is

        var byOne = new Deduplicator(new DedupeOptions());
        byOne.TryAdd("111122223333", "a", T0);
        for (int i = 0; i < Deduplicator.ConfirmAfter - 1; i++) byOne.TryAdd("444455556666", "x" + i, T0.AddDays(1));
        Assert.False(byOne.TryAdd("111122223333", "a", T0)); // not yet: one account's word
        byOne.TryAdd("444455556666", "last", T0.AddDays(1));
        Assert.True(byOne.TryAdd("111122223333", "a", T0.AddDays(1)));
    }

    [Fact]
    public void At_the_size_cap_the_oldest_ids_go_first_and_are_counted()
    {
        var d = new Deduplicator(new DedupeOptions { MaxEntries = 3 });
        foreach (var id in new[] { "a", "b", "c", "d" }) d.TryAdd("111122223333", id, T0);
        Assert.Equal(3, d.Count);
        Assert.Equal(1, d.EvictedEarly);
        Assert.True(d.TryAdd("111122223333", "a", T0));  // evicted
        Assert.False(d.TryAdd("111122223333", "d", T0)); // still remembered
    }

    [Fact]
    public void Memory_survives_a_save_and_restore()
    {
        var d = new Deduplicator(new DedupeOptions());
        d.TryAdd("111122223333", "e1", T0);
        var restored = new Deduplicator(new DedupeOptions());
        restored.Restore(d.Entries.ToList());
        Assert.False(restored.TryAdd("111122223333", "e1", T0));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void An_unconfirmed_far_future_id_stays_unconfirmed_across_a_save_and_restore(bool oneAccountAtATime)
    {
        var d = new Deduplicator(new DedupeOptions());
        d.TryAdd("111122223333", "a", T0);
        d.TryAdd("444455556666", "future", T0.AddYears(1));
        var restored = new Deduplicator(new DedupeOptions());
        // Carries are put back one account each; the far-future account's first, so its id alone must not set the watermark.
        if (oneAccountAtATime)
            foreach (var carry in d.Entries.GroupBy(e => e.Account).OrderByDescending(g => g.Key)) restored.Restore([.. carry]);
        else
            restored.Restore(d.Entries.ToList());

        // The same wrong clock again, one record: still one account's word, so nothing is forgotten.
        Assert.True(restored.TryAdd("444455556666", "future2", T0.AddYears(1).AddMinutes(1)));
        Assert.False(restored.TryAdd("111122223333", "a", T0.AddMinutes(1))); // the redelivery is still a duplicate
        Assert.Equal(3, restored.Count);
    }

    [Fact]
    public void A_pending_jump_restored_is_confirmed_by_another_account_as_before_the_save()
    {
        var d = new Deduplicator(new DedupeOptions());
        d.TryAdd("111122223333", "a", T0);
        d.TryAdd("444455556666", "x", T0.AddDays(1));
        var restored = new Deduplicator(new DedupeOptions());
        restored.Restore(d.Entries.ToList());

        restored.TryAdd("777788889999", "y", T0.AddDays(1)); // another account there too: time really moved
        Assert.True(restored.TryAdd("111122223333", "a", T0.AddDays(1))); // forgotten, as without the restore
    }

    [Fact]
    public void Ids_older_than_the_horizon_are_forgotten_while_an_unconfirmed_far_future_id_is_held()
    {
        var d = new Deduplicator(new DedupeOptions { Horizon = TimeSpan.FromMinutes(10) });
        d.TryAdd("111122223333", "a", T0);
        d.TryAdd("444455556666", "future", T0.AddYears(1)); // held: one account's word
        d.TryAdd("111122223333", "b", T0.AddMinutes(5));    // arrived after the far-future id
        d.TryAdd("111122223333", "c", T0.AddMinutes(11));   // forgets "a": the far-future id is now first in line
        d.TryAdd("111122223333", "d", T0.AddMinutes(20));   // "b" is older than the horizon now

        Assert.Equal(3, d.Count); // future, c, d
        Assert.True(d.TryAdd("111122223333", "b", T0.AddMinutes(20)));      // forgotten, though it arrived after "future"
        Assert.False(d.TryAdd("444455556666", "future", T0.AddMinutes(20))); // the far-future id is still remembered
    }

    [Fact]
    public void Forgetting_by_time_after_a_restore_of_carries_one_account_at_a_time_is_not_held_back_by_the_first_account()
    {
        var d = new Deduplicator(new DedupeOptions { Horizon = TimeSpan.FromMinutes(10) });
        d.TryAdd("111122223333", "a", T0);
        d.TryAdd("444455556666", "x", T0.AddMinutes(1));
        d.TryAdd("111122223333", "b", T0.AddMinutes(9));
        var restored = new Deduplicator(new DedupeOptions { Horizon = TimeSpan.FromMinutes(10) });
        foreach (var carry in d.Entries.GroupBy(e => e.Account).OrderBy(g => g.Key)) restored.Restore([.. carry]); // a, b, then x

        restored.TryAdd("111122223333", "c", T0.AddMinutes(12)); // "a" and "x" are older than the horizon, "b" is not
        Assert.Equal(2, restored.Count); // b, c
        Assert.True(restored.TryAdd("444455556666", "x", T0.AddMinutes(12)));
    }

    [Fact]
    public void Invalid_options_fail_with_a_message_in_their_own_names()
    {
        var e = Assert.Throws<InvalidOptionException>(() => new Deduplicator(new DedupeOptions { Horizon = TimeSpan.Zero }));
        Assert.StartsWith("Horizon must be positive", e.Message, StringComparison.Ordinal);
        Assert.Equal(["Horizon"], e.Properties);
    }
}
