using Pipeline.Cli.Commands;
using Pipeline.Cli.Lambda;

// Lambda starts the bootstrap (this binary) with no arguments and AWS_LAMBDA_RUNTIME_API set.
if (LambdaHost.StartedByLambda(args))
    return await LambdaHost.RunAsync(Environment.GetEnvironmentVariable, Console.Out, CancellationToken.None).ConfigureAwait(false);

return await Cli.RunAsync(args).ConfigureAwait(false);
