using Pipeline.Cli.Commands;

return await Cli.RunAsync(args).ConfigureAwait(false);
