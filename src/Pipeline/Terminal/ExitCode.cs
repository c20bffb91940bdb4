namespace Pipeline.Cli.Terminal;

/// <summary>
/// Exit codes scripts can rely on. Documented in docs/digests.md (Exit codes); never renumbered. Commands return one of these, and
/// <see cref="Commands.Cli.Guard"/> alone turns it into the process's number.
/// </summary>
internal enum ExitCode
{
    /// <summary>Done; every record is accounted for (rejected records are reported but are not a failure unless --fail-on-reject).</summary>
    Ok = 0,
    /// <summary>An internal error (a bug): the message says what happened.</summary>
    InternalError = 1,
    /// <summary>The command line is wrong (unknown option, bad duration, conflicting settings).</summary>
    UsageError = 2,
    /// <summary>An input could not be read at all (missing file, no permission, bad accounts or rules file).</summary>
    InputError = 3,
    /// <summary>Some digests could not be delivered and were written to the outbox instead.</summary>
    DeliveryFailed = 4,
    /// <summary>--fail-on-reject was given and some records were rejected.</summary>
    RecordsRejected = 5,
    /// <summary>A service the command needs (DynamoDB, Kinesis) could not be reached.</summary>
    ServiceUnavailable = 6,
    /// <summary>`pipeline doctor`: at least one check failed (its line says what to do next).</summary>
    ChecksFailed = 7,
    /// <summary>`pipeline run`: the stored checkpoints belong to another stream of the same name (deleted and recreated); nothing was read. `--start-at` starts over.</summary>
    StaleCheckpoint = 8,
    /// <summary>A failure no command handles itself (the file system, the network, a service's answer): one line says what, and what to check.</summary>
    UnexpectedFailure = 9,
    /// <summary>Stopped by Ctrl-C (128 + SIGINT).</summary>
    Interrupted = 130,
}
