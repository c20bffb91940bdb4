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
    public async Task A_claim_left_pending_by_a_run_that_is_gone_is_claimed_again_after_a_restart()
    {
        using (var killed = new FileDigestLedger(_path))
            Assert.Equal(ClaimStatus.Claimed, (await killed.TryClaimAsync("digest-1", default)).Status); // then the process died

        using var restarted = new FileDigestLedger(_path);
        Assert.Equal(ClaimStatus.Claimed, (await restarted.TryClaimAsync("digest-1", default)).Status);
    }
}
