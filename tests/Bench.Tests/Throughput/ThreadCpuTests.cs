using Pipeline.Bench.Throughput;

namespace Pipeline.Bench.Tests.Throughput;

public sealed class ThreadCpuTests
{
    [Fact]
    public void A_threads_cpu_time_is_its_user_and_system_ticks_whatever_its_name_holds()
    {
        // A thread may name itself anything, spaces and parentheses included: the fields are counted from the last ')'.
        const string Stat = "4242 (.NET TP (x) 1) S 4200 4200 4200 0 -1 4194368 1234 0 0 0 250 37 0 0 20 0 9 0 100 0 0";

        Assert.Equal(TimeSpan.FromSeconds(2.87), ThreadCpu.Parse(Stat));
        Assert.Null(ThreadCpu.Parse("4242 (cut short) S 1 2"));
        Assert.Null(ThreadCpu.Parse("no name at all"));
    }

    [Fact]
    public void The_calling_threads_cpu_time_grows_with_the_work_it_does()
    {
        if (ThreadCpu.Current() is not { } before) return; // not Linux: the benchmark leaves the figure out
        // A fixed amount of work (some 100 ms here), not a time: however busy the machine, this thread's CPU time for it is the same.
        double sink = 0;
        for (int i = 1; i < 100_000_000; i++) sink += Math.Sqrt(i);
        var after = ThreadCpu.Current()!.Value;

        Assert.True(after - before >= TimeSpan.FromMilliseconds(20), $"{after - before} of CPU for the work ({sink})");
    }
}
