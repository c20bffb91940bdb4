namespace Pipeline.Cli.Terminal;

/// <summary>Exit codes scripts can rely on. Documented in the README; never renumbered.</summary>
internal static class ExitCodes
{
    /// <summary>Done; every record is accounted for (rejected records are reported but are not a failure unless --fail-on-reject).</summary>
    public const int Ok = 0;
    /// <summary>An internal error (a bug): the message says what happened.</summary>
    public const int InternalError = 1;
    /// <summary>The command line is wrong (unknown option, bad duration, conflicting settings).</summary>
    public const int UsageError = 2;
    /// <summary>An input could not be read at all (missing file, no permission, bad accounts or rules file).</summary>
    public const int InputError = 3;
    /// <summary>Some digests could not be delivered and were written to the outbox instead.</summary>
    public const int DeliveryFailed = 4;
    /// <summary>--fail-on-reject was given and some records were rejected.</summary>
    public const int RecordsRejected = 5;
    /// <summary>A service the command needs (DynamoDB, Kinesis) could not be reached.</summary>
    public const int ServiceUnavailable = 6;
    /// <summary>Stopped by Ctrl-C (128 + SIGINT).</summary>
    public const int Interrupted = 130;
}
