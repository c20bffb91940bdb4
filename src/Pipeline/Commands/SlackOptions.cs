using System.CommandLine;
using Pipeline.Aggregator.Delivery;
using Pipeline.Slack.Delivery;
using Pipeline.Slack.Outbox;
using Pipeline.Slack.Secrets;
using Pipeline.Slack.Threads;
using Pipeline.Slack;

namespace Pipeline.Cli.Commands;

/// <summary>
/// The Slack delivery options shared by `digest`, `demo`, `run` and `outbox send`. Secrets are never given on the
/// command line (other users see it in `ps`): the options take where to read them from.
/// </summary>
internal sealed class SlackOptions : IOptionGroup
{
    // The command line is where randomness enters, as the clock does: Slack's backoff jitter needs no seed here.
#pragma warning disable RS0030 // Random.Shared is banned in library code, not at the composition root.
    private static readonly Func<double> Jitter = Random.Shared.NextDouble;
#pragma warning restore RS0030

    private readonly bool _resend;

    /// <param name="resend">For `outbox send`: no --alert-channel, since each parked entry already names its channel.</param>
    public SlackOptions(bool resend = false) => _resend = resend;

    public Option<string?> Webhook { get; } = new("--slack-webhook")
    {
        Description = "Post digests to an incoming webhook whose URL is read from env:NAME, file:PATH or ssm:PARAMETER (a SecureString).",
    };

    public Option<string?> Token { get; } = new("--slack-token")
    {
        Description = "Post with chat.postMessage using a bot token read from env:NAME, file:PATH or ssm:PARAMETER; routes each account to its directory channel.",
    };

    public Option<string?> Channel { get; } = new("--slack-channel")
    {
        Description = "With --slack-token: the channel for accounts whose directory entry names none (required).",
    };

    public Option<string?> AlertChannel { get; } = new("--alert-channel")
    {
        Description = "With --slack-token: a channel that also receives every digest with risky events (besides its account's channel).",
    };

    public Option<string?> ApiUrl { get; } = new("--slack-api-url")
    {
        Description = "With --slack-token: the Slack Web API base (default https://slack.com/api/; e.g. a GovSlack or proxy address).",
    };

    public Option<string> Outbox { get; } = new("--outbox")
    {
        Description = "Folder that keeps digests Slack did not accept after all retries, for `pipeline outbox send`.",
        DefaultValueFactory = _ => "pipeline-outbox",
    };

    public Option<string> Cooldown { get; } = new("--slack-cooldown")
    {
        Description = "After Slack refuses a digest (parked after its retries), park the next ones without trying Slack for this long (0: always try; at most 1d).",
        DefaultValueFactory = _ => "1m",
    };

    public IEnumerable<Option> Options => _resend
        ? [Webhook, Token, Channel, ApiUrl, Outbox]
        : [Webhook, Token, Channel, AlertChannel, ApiUrl, Cooldown, Outbox];

    /// <summary>The delivery settings, or null when no Slack option was given (print only).</summary>
    public SlackDeliveryOptions? Read(ParseResult parse)
    {
        var webhook = parse.GetValue(Webhook);
        var token = parse.GetValue(Token);
        var channel = parse.GetValue(Channel);
        var alert = _resend ? null : parse.GetValue(AlertChannel);
        if (webhook is not null && token is not null) throw new UsageException("give --slack-webhook or --slack-token, not both.");
        if (token is null && alert is not null)
            throw new UsageException("--alert-channel needs --slack-token (an incoming webhook posts only to its own channel).");
        if (webhook is null && token is null)
        {
            if (channel is not null) throw new UsageException("--slack-channel needs --slack-token.");
            return null;
        }
        if (token is not null && channel is null) throw new UsageException("--slack-token needs --slack-channel (the channel for accounts the directory names none for).");
        var options = new SlackDeliveryOptions
        {
            Mode = token is null ? SlackMode.Webhook : SlackMode.BotToken,
            Secret = ParseSecret(token is null ? "--slack-webhook" : "--slack-token", (webhook ?? token)!),
            DefaultChannel = channel,
            AlertChannel = alert,
            // Plain http is allowed to 127.0.0.1 only (a local relay, or the tests' loopback Slack): it never leaves the machine.
            AllowLoopbackHttp = true,
        };
        if (!_resend)
        {
            var cooldown = CommonOptions.ParseDuration("--slack-cooldown", parse.GetValue(Cooldown)!, allowZero: true);
            if (cooldown > TimeSpan.FromDays(1)) throw new UsageException($"--slack-cooldown '{parse.GetValue(Cooldown)}' is longer than 1d.");
            options = options with { Cooldown = cooldown };
        }
        if (parse.GetValue(ApiUrl) is { } api)
        {
            if (!Uri.TryCreate(api.EndsWith('/') ? api : api + "/", UriKind.Absolute, out var uri))
                throw new UsageException($"--slack-api-url '{api}' is not an absolute URL.");
            options = options with { ApiBaseUrl = uri };
        }
        CheckOutbox(parse.GetValue(Outbox)!, _resend);
        return options;
    }

    /// <summary>
    /// Whether the outbox can take an entry: a run whose first failed post finds no outbox stops there (a digest must not
    /// be lost), so a folder that cannot be made or written is a usage error before anything is read. A folder that does
    /// not exist yet is made when the first digest is parked; its nearest existing parent must take it.
    /// </summary>
    /// <param name="resend">`outbox send`: a folder that does not exist is nothing to send, whatever its parent allows.</param>
    internal static void CheckOutbox(string path, bool resend = false)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new UsageException("--outbox is empty: give a folder (it is made if missing).");
        var folder = Path.GetFullPath(path);
        while (!Directory.Exists(folder))
        {
            if (File.Exists(folder))
                throw new UsageException($"--outbox '{path}' cannot be a folder: '{folder}' is a file. Give a folder (it is made if missing).");
            if (resend) return;
            folder = Path.GetDirectoryName(folder) ?? throw new UsageException($"--outbox '{path}' has no folder to be made in.");
        }
        // A file of a name no other run uses, made and removed: only whether the folder takes a new entry is asked.
        var probe = Path.Combine(folder, ".outbox-check-" + Path.GetRandomFileName());
        try
        {
            new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1).Dispose();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"--outbox '{path}' cannot be written: {e.Message.TrimEnd('.')}. Give a folder you may write to.");
        }
        try
        {
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Written but not removed: the outbox works; the stray file is harmless (outbox send reads only its own entries).
        }
    }

    public FolderOutbox OpenOutbox(ParseResult parse) => new(parse.GetValue(Outbox)!, log: Log);

    /// <summary>A secret reference from the command line; the secret itself is refused (every user sees a command line).</summary>
    internal static SecretReference ParseSecret(string option, string spec)
    {
        if (spec.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || spec.StartsWith("xox", StringComparison.Ordinal))
            throw new UsageException($"{option} takes where to read the secret, not the secret itself (a command line is visible to every user of the machine): export it and give env:NAME, or give file:PATH or ssm:PARAMETER.");
        try
        {
            return SecretReference.Parse(spec);
        }
        catch (FormatException e)
        {
            throw new UsageException($"{option}: {e.Message}");
        }
    }

    /// <summary>
    /// The sink of `digest` and `run`: posts each notice, parking it in <paramref name="outbox"/> when Slack will not take
    /// it, and parking it without trying while Slack is in its cooldown after a refusal (<see cref="SlackCircuit"/>, as
    /// the function does). With a bot token, a digest goes in its alert's thread: <paramref name="threads"/> remembers
    /// the alerts' messages (the ledger of `run`; by default this process's memory, enough for `digest`, which posts a
    /// burst's alerts and its digest in one run). <paramref name="parkWhenCancelled"/>: `digest`'s Ctrl-C parks
    /// the notices still to post (see <see cref="SlackDigestSink"/>); `run` leaves them to its next run instead.
    /// </summary>
    public static async Task<IDigestSink> CreateSinkAsync(SlackDeliveryOptions options, IDigestOutbox outbox, CancellationToken cancellationToken, IAlertThreads? threads = null, bool parkWhenCancelled = false) =>
        new SlackDigestSink(await CreateSenderAsync(options, cancellationToken).ConfigureAwait(false), outbox, log: Log, threads: threads ?? new InMemoryAlertThreads(),
            circuit: new SlackCircuit(TimeProvider.System, options.Cooldown), parkWhenCancelled: parkWhenCancelled);

    /// <summary>
    /// The resender of `outbox send`: it stops at the first entry that finds Slack itself failing (the same
    /// <see cref="SlackCircuit"/> as `digest`), leaving the rest for the next send.
    /// </summary>
    public static async Task<OutboxResender> CreateResenderAsync(SlackDeliveryOptions options, IDigestOutbox outbox, CancellationToken cancellationToken) =>
        new(await CreateSenderAsync(options, cancellationToken).ConfigureAwait(false), outbox, Log, circuit: new SlackCircuit(TimeProvider.System, options.Cooldown));

    /// <summary>Builds the sender; configuration problems (missing variable, bad URL) become usage errors naming the fix.</summary>
    private static async Task<SlackSender> CreateSenderAsync(SlackDeliveryOptions options, CancellationToken cancellationToken)
    {
        try
        {
            return await SlackDelivery.CreateSenderAsync(options, Jitter, log: Log, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (SlackConfigurationException e)
        {
            throw new UsageException(e.Message);
        }
    }

    // Delivery lines quote channels, which come from the accounts file or table: a terminal gets them cleaned.
    private static void Log(string line) => Console.Error.WriteLine(Aggregator.Rendering.TextDigestRenderer.Clean(line));
}
