using Pipeline.Lambda;

// Lambda's provided.al2023 runtime starts this binary, named `bootstrap`, with AWS_LAMBDA_RUNTIME_API set.
return await FunctionHost.RunAsync(Environment.GetEnvironmentVariable, Console.Out, CancellationToken.None).ConfigureAwait(false);
