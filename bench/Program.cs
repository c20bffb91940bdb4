using Pipeline.Bench;

return await BenchCommand.Create().Parse(args).InvokeAsync().ConfigureAwait(false);
