using Pipeline.Aggregator.Bursts;
using System.Text.Json;
using Pipeline.Cli.Hosting.Kinesis;
using Pipeline.Enricher.Reading;
using Pipeline.Lambda.Carry;
using Pipeline.TestSupport.Lambda;

namespace Pipeline.Tests.Hosting.Kinesis;

/// <summary>The carry file of `pipeline run` keeps the carry store's contract, survives a restart, and refuses a damaged file.</summary>
public sealed class FileCarryStoreTests : CarryStoreContract, IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "carry-" + Guid.NewGuid().ToString("N")[..8]);
    private string _path = "";

    protected override Task<ICarryStore> NewStoreAsync()
    {
        _path = Path.Combine(_directory, Guid.NewGuid().ToString("N")[..8], "carries.json");
        return Task.FromResult<ICarryStore>(new FileCarryStore(_path));
    }

    // Read from the file itself: what a restarted run would find.
    protected override async Task<(bool Exists, string? Owner)> ReadItemAsync(string account)
    {
        if (!File.Exists(_path)) return (false, null);
        using var doc = JsonDocument.Parse(await File.ReadAllBytesAsync(_path));
        foreach (var item in doc.RootElement.GetProperty("carries").EnumerateArray())
            if (item.GetProperty("account").GetString() == account)
                return (true, item.TryGetProperty("owner", out var owner) ? owner.GetString() : null);
        return (false, null);
    }

    [Fact]
    public async Task A_new_store_on_the_same_file_sees_what_the_previous_one_wrote()
    {
        var before = await NewStoreAsync();
        await before.ClaimAsync([A, B], "w1", "t1", T0, T0 + Lease, default);
        await before.ReleaseAsync([new CarryWrite(A, SampleCarry(A), T0 + TimeSpan.FromMinutes(1), Expires)], "w1", "t1", default);

        var after = new FileCarryStore(_path); // the run restarted

        Assert.Equal([A], await after.DueAsync(T0 + TimeSpan.FromMinutes(2), 10, default));
        AssertSameCarry(SampleCarry(A), Assert.Single(await after.ClaimAsync([A], "w2", "t2", T0, T0 + Lease, default)));
        // B's claim outlived the process, lease and all.
        Assert.Equal([B], (await Assert.ThrowsAsync<CarryConflictException>(() => after.ClaimAsync([B], "w2", "t2", T0, T0 + Lease, default))).Accounts);
        // The retry of w1's call still reads what it had claimed: nothing.
        Assert.Empty(await new FileCarryStore(_path).ClaimAsync([A], "w1", "t1", T0 + Lease + TimeSpan.FromSeconds(1), T0 + 2 * Lease, default));
        Assert.False(File.Exists(_path + ".tmp"));
    }

    [Fact]
    public async Task A_sweeps_counts_are_saved_in_the_same_write_as_its_carry_and_only_when_the_write_applies()
    {
        var store = (FileCarryStore)await NewStoreAsync();
        static RunSummary Counts(long digested) => new(0, 0, 0, 0, digested, 1, [], []) { CarriedIn = digested };
        await store.ClaimAsync([A, B], "sweep:1", "sweep:1:x", T0, T0 + Lease, default);
        await store.ClaimAsync([C], "w2", "t2", T0, T0 + Lease, default);

        // A is written back: its counts are in the file with it. C is another owner's: refused, and not counted.
        await store.ReleaseAsync([new CarryWrite(A, null, null, Expires) { SweptCounts = Counts(3) }], "sweep:1", "sweep:1:a", default);
        await Assert.ThrowsAsync<CarryConflictException>(() => store.ReleaseAsync([new CarryWrite(C, null, null, Expires) { SweptCounts = Counts(5) }], "sweep:1", "sweep:1:c", default));

        var restarted = new FileCarryStore(_path); // what a run killed right after the write finds
        var swept = await restarted.SweptAsync(default);
        Assert.Equal((3, 3, 1), (swept.Digested, swept.CarriedIn, swept.Digests));
        Assert.False((await ReadItemAsync(A)).Exists); // the same write deleted A's carry
        Assert.Equal("w2", (await ReadItemAsync(C)).Owner);

        // Later runs add to it (the dead sweep's claim on B ended when the file was loaded again).
        await restarted.ClaimAsync([B], "sweep:2", "sweep:2:b", T0, T0 + Lease, default);
        await restarted.ReleaseAsync([new CarryWrite(B, null, null, Expires) { SweptCounts = Counts(2) }], "sweep:2", "sweep:2:b", default);
        Assert.Equal(5, (await new FileCarryStore(_path).SweptAsync(default)).Digested);
    }

    [Theory]
    [InlineData("{\"version\":1,\"carries\":[")]
    [InlineData("[]")]
    [InlineData("{\"version\":2,\"carries\":[]}")]
    [InlineData("{\"version\":1,\"carries\":[{\"account\":\"111111111111\",\"state\":\"not base64!\",\"expiresAt\":1}]}")]
    [InlineData("{\"version\":1,\"carries\":[{\"account\":\"111111111111\"}]}")]
    [InlineData("{\"version\":1,\"carries\":[{\"account\":\"111111111111\",\"expiresAt\":1},{\"account\":\"111111111111\",\"expiresAt\":1}]}")]
    public async Task A_damaged_file_is_an_input_error_saying_to_move_it_away(string content)
    {
        var store = await NewStoreAsync();
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        await File.WriteAllTextAsync(_path, content);

        var error = await Assert.ThrowsAsync<InputException>(() => store.ClaimAsync([A], "w1", "t1", T0, T0 + Lease, default));

        Assert.Contains(_path, error.Message, StringComparison.Ordinal);
        Assert.Contains("move it away", error.Message, StringComparison.Ordinal);
        Assert.Equal(content, await File.ReadAllTextAsync(_path)); // left as it was, for whoever looks into it
    }

    [Fact]
    public async Task An_unreadable_carry_in_a_sound_file_comes_back_empty_with_its_problem_naming_the_account()
    {
        var store = await NewStoreAsync();
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        await File.WriteAllTextAsync(_path, $"{{\"version\":1,\"carries\":[{{\"account\":\"{A}\",\"state\":\"AQID\",\"expiresAt\":1}}]}}");

        var claimed = Assert.Single(await store.ClaimAsync([A], "w1", "t1", T0, T0 + Lease, default));

        Assert.True(claimed.Carry.IsEmpty);
        Assert.Contains(A, claimed.Problem, StringComparison.Ordinal);
        Assert.Equal([1, 2, 3], claimed.Bytes); // kept for a retry of the call, as any claimed carry is
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
