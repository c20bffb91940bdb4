using Pipeline.Cli.Hosting.Kinesis;
using Pipeline.Lambda.Ledger;

namespace Pipeline.Tests.Hosting.Kinesis;

/// <summary>The ledger file of `pipeline run`: one claimer at a time, and as the run's alert threads, remembered lines survive a restart.</summary>
public sealed class FileDigestLedgerTests : IDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), "ledger-" + Guid.NewGuid().ToString("N") + ".ledger");

    public void Dispose() => File.Delete(_path);

    [Fact]
    public async Task An_alerts_messages_are_found_again_after_a_restart_and_its_claim_state_is_untouched()
    {
        using (var ledger = new FileDigestLedger(_path))
        {
            var claim = await ledger.TryClaimAsync("alert-1", default);
            await ledger.RememberAsync("alert-1", "#team-a", "1795615331.000001", default);
            await ledger.RememberAsync("alert-1", "#security-alerts", "1795615331.000002", default);
            await ledger.MarkPostedAsync(claim, default);
            Assert.Equal("1795615331.000001", await ledger.FindAsync("alert-1", "#team-a", default));
        }

        using var restarted = new FileDigestLedger(_path);
        Assert.Equal("1795615331.000001", await restarted.FindAsync("alert-1", "#team-a", default));
        Assert.Equal("1795615331.000002", await restarted.FindAsync("alert-1", "#security-alerts", default));
        Assert.Null(await restarted.FindAsync("alert-1", "#elsewhere", default));
        Assert.Equal(ClaimStatus.AlreadyPosted, (await restarted.TryClaimAsync("alert-1", default)).Status);
    }

    [Fact]
    public async Task A_release_whose_write_fails_still_gives_up_the_claim()
    {
        var ledger = new FileDigestLedger(_path);
        var claim = await ledger.TryClaimAsync("digest-unwritten", default);
        ledger.Dispose(); // every write fails from here on
        await Assert.ThrowsAsync<ObjectDisposedException>(() => ledger.ReleaseAsync(claim, default));
        // No longer held: a new claim is attempted (and fails to write), instead of "in progress" until the run restarts.
        await Assert.ThrowsAsync<ObjectDisposedException>(() => ledger.TryClaimAsync("digest-unwritten", default));
    }

    [Fact]
    public async Task Of_many_callers_claiming_one_digest_at_once_exactly_one_wins_until_it_releases()
    {
        using var ledger = new FileDigestLedger(_path);

        var claims = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => ledger.TryClaimAsync("digest-race", default))));

        var winner = Assert.Single(claims, c => c.Status == ClaimStatus.Claimed);
        Assert.All(claims.Where(c => !ReferenceEquals(c, winner)), c => Assert.Equal(ClaimStatus.InProgress, c.Status));
        await ledger.ReleaseAsync(winner, default);
        var next = await ledger.TryClaimAsync("digest-race", default); // a released claim is free again
        Assert.Equal(ClaimStatus.Claimed, next.Status);
        await ledger.MarkPostedAsync(next, default);
        Assert.Equal(ClaimStatus.AlreadyPosted, (await ledger.TryClaimAsync("digest-race", default)).Status);
    }

    [Fact]
    public async Task A_claim_left_pending_by_a_run_that_is_gone_is_claimed_again_after_a_restart()
    {
        using (var killed = new FileDigestLedger(_path))
            Assert.Equal(ClaimStatus.Claimed, (await killed.TryClaimAsync("digest-1", default)).Status); // then the process died

        using var restarted = new FileDigestLedger(_path);
        Assert.Equal(ClaimStatus.Claimed, (await restarted.TryClaimAsync("digest-1", default)).Status);
    }
}
