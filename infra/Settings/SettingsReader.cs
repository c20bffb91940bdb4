using System.Collections;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Pipeline.Infra.Settings;

/// <summary>The settings were missing or wrong; <see cref="Exception.Message"/> lists every problem, one per line.</summary>
internal sealed class SettingsException(IReadOnlyList<string> problems)
    : Exception("Invalid infra settings (set them in infra/cdk.json \"context\" or pass -c key=value):"
        + Environment.NewLine + string.Join(Environment.NewLine, problems.Select(p => "  - " + p)))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}

/// <summary>
/// Reads <see cref="PipelineSettings"/> from CDK context values. Values come as JSON types from cdk.json and
/// as strings from <c>-c key=value</c>, so lists accept a JSON array, a JSON array in a string, or
/// "a,b,c"; numbers and booleans accept their string forms. Every problem is collected, then thrown at once.
/// </summary>
internal static partial class SettingsReader
{
    internal const string PlaceholderAssetFolder = "placeholder-asset";
    /// <summary>Where scripts/publish-lambda.sh writes by default, relative to infra/: the asset the stack reads by default.</summary>
    internal const string DefaultAssetFolder = "../artifacts/lambda";

    /// <param name="context">The context lookup (the CDK app's <c>Node.TryGetContext</c>).</param>
    /// <param name="infraDirectory">The infra/ folder: relative asset paths start there, the placeholder lives there.</param>
    public static PipelineSettings Read(Func<string, object?> context, string infraDirectory)
    {
        var problems = new List<string>();
        var reader = new Reader(context, problems);

        var orgId = reader.Required("orgId", OrgId(), "an AWS Organizations id like o-a1b2c3d4e5");
        var security = reader.Required("securityAccountId", AccountId(), "a 12-digit account id");
        var management = reader.Required("managementAccountId", AccountId(), "a 12-digit account id");
        var centralRegion = reader.Required("centralRegion", Region(), "a region name like eu-west-1");
        var ous = reader.RequiredList("memberOrganizationalUnitIds", OuOrRoot(), "OU ids like ou-ab12-cdefgh34 or the root id r-ab12");
        var regions = reader.RequiredList("memberRegions", Region(), "region names like eu-west-1");
        if (security is not null && security == management)
            problems.Add("securityAccountId: must not be the management account (the central stack belongs in a dedicated security account).");

        var kinds = reader.OptionalList("forwardedEvents", EventKindNames.Keys, "one or more of " + string.Join(", ", EventKindNames.Keys))
            ?.Select(k => EventKindNames[k]).Distinct().ToArray()
            ?? Enum.GetValues<ForwardedEventKind>();
        var includeReadOnly = reader.Bool("includeReadOnlyEvents", false);
        if (includeReadOnly && !kinds.Contains(ForwardedEventKind.CloudTrailApiCalls))
            problems.Add("includeReadOnlyEvents: true needs cloudtrail-api-calls in forwardedEvents.");

        var admin = reader.Choice("stackSetAdministrator", "management",
            new Dictionary<string, StackSetAdministrator>
            {
                ["management"] = StackSetAdministrator.ManagementAccount,
                ["delegated-admin"] = StackSetAdministrator.DelegatedAdministrator,
            });
        var mode = reader.Choice("streamMode", "on-demand",
            new Dictionary<string, StreamCapacityMode>
            {
                ["on-demand"] = StreamCapacityMode.OnDemand,
                ["provisioned"] = StreamCapacityMode.Provisioned,
            });
        var shards = reader.Int("streamShardCount", 1, 1, 500);

        var gap = reader.Int("burstGapSeconds", 120, 1, 899);
        // Bursts outlive the tumbling window (open ones are carried to the next): the max window is only the
        // longest burst, up to a day.
        var maxWindow = reader.Int("burstMaxWindowSeconds", 600, 1, 86_400);
        if (gap >= maxWindow)
            problems.Add($"burstGapSeconds: {gap} must be below burstMaxWindowSeconds ({maxWindow}); a gap as long as the window never closes a burst.");
        var lateness = reader.Int("burstLatenessSeconds", 300, 0, 3600);
        // Roll-ups and immediate alerts (issue 13): the function reads them as ROLLUP_MIN_ACCOUNTS, ROLLUP_WINDOW, ALERT_SEVERITY.
        var rollupMinAccounts = reader.Int("rollupMinAccounts", 3, 0, 100_000);
        if (rollupMinAccounts == 1)
            problems.Add("rollupMinAccounts: 1 is not allowed: write 0 (roll-ups off) or 2–100000 (one account is not a roll-up).");
        var rollupWindow = reader.Int("rollupWindowSeconds", 180, 1, 3600);
        // The silence check (SILENCE_AFTER): 0 turns it off; under a minute would call every lull a silence.
        var silenceAfter = reader.Int("silenceAfterSeconds", 21_600, 0, 1_209_600);
        // CloudWatch evaluates it in 5-minute periods, at most a day of them.
        var noEventsAlarm = reader.Int("noEventsAlarmMinutes", 60, 0, 1440);
        if (noEventsAlarm != 0 && (noEventsAlarm < 15 || noEventsAlarm % 5 != 0))
            problems.Add($"noEventsAlarmMinutes: {noEventsAlarm} is not allowed: write 0 (no alarm) or 15–1440 in steps of 5.");
        if (silenceAfter is > 0 and < 60)
            problems.Add($"silenceAfterSeconds: {silenceAfter} is too short: write 0 (off) or 60–1209600 (1 minute to 14 days).");
        var alertSeverity = reader.Choice("alertSeverity", "critical",
            new Dictionary<string, string> { ["critical"] = "critical", ["high"] = "high", ["off"] = "off" });
        // The tumbling window is Lambda's state boundary: at most 900 s.
        var window = reader.Int("windowSeconds", 60, 1, 900);

        var busName = reader.Name("eventBusName", "security-pipeline", EventBusNamePattern(), "1–256 of A-Z a-z 0-9 . _ -, not \"default\"");
        if (busName == "default")
            problems.Add("eventBusName: must not be \"default\": the central bus is a custom bus whose policy admits the organization.");
        var streamName = reader.Name("streamName", "security-pipeline", StreamNamePattern(), "1–128 of A-Z a-z 0-9 . _ -");
        var slackParameter = reader.Name("slackWebhookParameterName", "/security-pipeline/slack-webhook", SsmNamePattern(),
            "an SSM parameter name like /security-pipeline/slack-webhook (A-Z a-z 0-9 _ . - /, not starting with aws or ssm)");
        var slackKey = reader.OptionalString("slackWebhookParameterKeyArn", KmsKeyArn(), "a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)");
        var slackMode = reader.Choice("slackMode", "webhook",
            new Dictionary<string, SlackDeliveryMode>
            {
                ["webhook"] = SlackDeliveryMode.Webhook,
                ["bot-token"] = SlackDeliveryMode.BotToken,
            });
        var tokenParameter = reader.Name("slackBotTokenParameterName", "/security-pipeline/slack-bot-token", SsmNamePattern(),
            "an SSM parameter name like /security-pipeline/slack-bot-token (A-Z a-z 0-9 _ . - /, not starting with aws or ssm)");
        var tokenKey = reader.OptionalString("slackBotTokenParameterKeyArn", KmsKeyArn(), "a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)");
        const string channel = "a Slack channel: #name (lower-case letters, digits, - and _) or a channel id like C0123ABCD";
        var defaultChannel = reader.OptionalString("slackDefaultChannel", SlackChannel(), channel);
        var alertChannel = reader.OptionalString("slackAlertChannel", SlackChannel(), channel);
        if (slackMode == SlackDeliveryMode.BotToken && defaultChannel is null && !reader.IsSet("slackDefaultChannel"))
            problems.Add($"slackDefaultChannel: missing; with slackMode bot-token, expected {channel}, for the accounts whose entry in the accounts table names none.");
        if (slackMode == SlackDeliveryMode.BotToken)
        {
            foreach (var key in new[] { "slackWebhookParameterName", "slackWebhookParameterKeyArn" }.Where(reader.IsSet))
                problems.Add($"{key}: only with slackMode webhook (a bot-token function reads slackBotTokenParameterName); remove it or set slackMode to webhook.");
        }
        else
        {
            // A webhook posts only to its own channel: these would be silently ignored.
            foreach (var key in new[] { "slackBotTokenParameterName", "slackBotTokenParameterKeyArn", "slackDefaultChannel", "slackAlertChannel" }.Where(reader.IsSet))
                problems.Add($"{key}: only with slackMode bot-token (a webhook posts only to its own channel); remove it or set slackMode to bot-token.");
        }
        var accountsTable = reader.Name("accountsTableName", "security-pipeline-accounts", TableNamePattern(), "3–255 of A-Z a-z 0-9 . _ -");
        var ledgerTable = reader.Name("ledgerTableName", "security-pipeline-digest-ledger", TableNamePattern(), "3–255 of A-Z a-z 0-9 . _ -");
        if (accountsTable == ledgerTable)
            problems.Add("ledgerTableName: must differ from accountsTableName.");

        var retries = reader.Int("maxRetryAttempts", 3, 0, 10_000);
        // Record age is bounded by the stream's 24-hour retention: older records no longer exist.
        var recordAge = reader.Int("maxRecordAgeSeconds", 3600, 60, 86_400);
        var batchSize = reader.Int("batchSize", 100, 1, 10_000);
        var topic = reader.OptionalString("alarmTopicArn", SnsTopicArn(), "an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)");
        var alarmEmail = reader.OptionalString("alarmEmail", EmailAddress(), "an email address like security-oncall@example.com");
        // The stack can subscribe an address only to the topic it owns; a topic of your own keeps its own subscriptions.
        if (alarmEmail is not null && topic is not null)
            problems.Add("alarmEmail: only for the topic the stack creates; with alarmTopicArn set, subscribe the address to that topic instead (aws sns subscribe --protocol email).");

        var architecture = reader.Choice("functionArchitecture", "arm64",
            new Dictionary<string, FunctionArchitecture>
            {
                ["arm64"] = FunctionArchitecture.Arm64,
                ["x86_64"] = FunctionArchitecture.X86_64,
            });
        var (asset, placeholder) = ReadAsset(reader, problems, infraDirectory, architecture);

        // A removal keeps the key, its alias and the named tables (they hold account names, channels and the
        // ledger); a redeploy over them names the kept key, and the stack then reuses all three instead of
        // failing on "already exists".
        var retainedKey = reader.OptionalString("retainedKeyArn", KmsKeyArn(), "the ARN of the key a removal kept (arn:aws:kms:REGION:ACCOUNT:key/ID)");
        if (retainedKey is not null && security is not null && centralRegion is not null
            && !retainedKey.Contains($":kms:{centralRegion}:{security}:key/", StringComparison.Ordinal))
            problems.Add($"retainedKeyArn: {retainedKey} is not in the security account's central region ({security}, {centralRegion}); a kept key stays where the central stack was.");

        var muteRules = reader.OptionalString("muteRulesFile", null, "a mute rules file");
        string? muteRulesPath = null;
        if (muteRules is not null)
        {
            muteRulesPath = Path.GetFullPath(Path.Combine(infraDirectory, muteRules));
            foreach (var problem in MuteRulesFile.Check(muteRulesPath))
                problems.Add($"muteRulesFile: {problem} (the path is relative to infra/; see docs/mute-rules.md).");
        }

        if (problems.Count > 0)
            throw new SettingsException(problems);

        return new PipelineSettings
        {
            OrganizationId = orgId!,
            SecurityAccountId = security!,
            ManagementAccountId = management!,
            CentralRegion = centralRegion!,
            MemberOrganizationalUnitIds = ous!,
            MemberRegions = regions!,
            ForwardedEvents = kinds,
            IncludeReadOnlyEvents = includeReadOnly,
            StackSetAdministrator = admin,
            EventBusName = busName,
            StreamName = streamName,
            StreamMode = mode,
            StreamShardCount = shards,
            BurstGapSeconds = gap,
            BurstMaxWindowSeconds = maxWindow,
            BurstLatenessSeconds = lateness,
            WindowSeconds = window,
            RollupMinAccounts = rollupMinAccounts,
            RollupWindowSeconds = rollupWindow,
            SilenceAfterSeconds = silenceAfter,
            NoEventsAlarmMinutes = noEventsAlarm,
            AlertSeverity = alertSeverity,
            SlackWebhookParameterName = slackParameter,
            SlackWebhookParameterKeyArn = slackKey,
            SlackMode = slackMode,
            SlackBotTokenParameterName = tokenParameter,
            SlackBotTokenParameterKeyArn = tokenKey,
            SlackDefaultChannel = defaultChannel,
            SlackAlertChannel = alertChannel,
            AccountsTableName = accountsTable,
            LedgerTableName = ledgerTable,
            MaxRetryAttempts = retries,
            MaxRecordAgeSeconds = recordAge,
            BatchSize = batchSize,
            AlarmTopicArn = topic,
            AlarmEmail = alarmEmail,
            BootstrapAssetDirectory = asset,
            UsesPlaceholderAsset = placeholder,
            FunctionArchitecture = architecture,
            RetainedKeyArn = retainedKey,
            MuteRulesFile = muteRulesPath,
        };
    }

    internal static readonly IReadOnlyDictionary<string, ForwardedEventKind> EventKindNames = new Dictionary<string, ForwardedEventKind>
    {
        ["cloudtrail-api-calls"] = ForwardedEventKind.CloudTrailApiCalls,
        ["console-sign-ins"] = ForwardedEventKind.ConsoleSignIns,
        ["guardduty-findings"] = ForwardedEventKind.GuardDutyFindings,
        ["securityhub-findings"] = ForwardedEventKind.SecurityHubFindings,
    };

    private static (string Path, bool Placeholder) ReadAsset(Reader reader, List<string> problems, string infraDirectory, FunctionArchitecture architecture)
    {
        var given = reader.OptionalString("bootstrapAsset", null, "a folder holding the NativeAOT executable named bootstrap");
        var full = Path.GetFullPath(Path.Combine(infraDirectory, given ?? DefaultAssetFolder));
        var arch = BootstrapExecutable.Name(architecture);
        var publish = $"scripts/publish-lambda.sh {arch}";
        var publishHow = given is null ? publish : $"{publish} --out {full}";
        if (full == Path.GetFullPath(Path.Combine(infraDirectory, PlaceholderAssetFolder)))
            return (full, true); // asked for by name: a shell script that fails every invocation (InfraApp says so)
        var bootstrap = Path.Combine(full, "bootstrap");
        if (!File.Exists(bootstrap))
        {
            problems.Add($"bootstrapAsset: {full}{(given is null ? " (the default)" : "")} has no file named bootstrap. "
                + $"Build it from the repository root: {publishHow}. "
                + $"To synthesize without it, pass -c bootstrapAsset={PlaceholderAssetFolder}: a placeholder that fails every invocation.");
            return (full, false);
        }
        var (built, problem) = BootstrapExecutable.Read(bootstrap);
        if (problem is not null)
            problems.Add($"bootstrapAsset: {bootstrap} {problem}. Rebuild it from the repository root: {publishHow}.");
        else if (built != architecture)
            problems.Add($"bootstrapAsset: {bootstrap} is built for {BootstrapExecutable.Name(built!.Value)} but functionArchitecture is {arch}"
                + $"{(reader.IsSet("functionArchitecture") ? "" : " (the default)")}: every invocation would fail with \"exec format error\". "
                + $"Rebuild it from the repository root: {publishHow}; or run the function on {BootstrapExecutable.Name(built.Value)}: -c functionArchitecture={BootstrapExecutable.Name(built.Value)}.");
        return (full, false);
    }

    [GeneratedRegex("^o-[a-z0-9]{10,32}$")] private static partial Regex OrgId();
    [GeneratedRegex("^[0-9]{12}$")] private static partial Regex AccountId();
    [GeneratedRegex("^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]{1,2}$")] private static partial Regex Region();
    [GeneratedRegex("^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$")] private static partial Regex OuOrRoot();
    [GeneratedRegex("^[A-Za-z0-9._-]{1,256}$")] private static partial Regex EventBusNamePattern();
    [GeneratedRegex("^[A-Za-z0-9._-]{1,128}$")] private static partial Regex StreamNamePattern();
    [GeneratedRegex("^[A-Za-z0-9._-]{3,255}$")] private static partial Regex TableNamePattern();
    [GeneratedRegex("^(?!/?(?i:aws|ssm))/?[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")] private static partial Regex SsmNamePattern();
    [GeneratedRegex("^(#[a-z0-9_-]{1,80}|[CG][A-Z0-9]{8,20})$")] private static partial Regex SlackChannel();
    [GeneratedRegex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$")] private static partial Regex KmsKeyArn();
    [GeneratedRegex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$")] private static partial Regex SnsTopicArn();
    [GeneratedRegex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$")] private static partial Regex EmailAddress();

    /// <summary>Turns raw context values into typed ones, recording a problem (and returning a default) when a value is wrong.</summary>
    private sealed class Reader(Func<string, object?> context, List<string> problems)
    {
        public string? Required(string key, Regex pattern, string expected)
        {
            var text = Text(key);
            if (string.IsNullOrWhiteSpace(text))
            {
                problems.Add($"{key}: missing; expected {expected}.");
                return null;
            }
            return Check(key, text.Trim(), pattern, expected);
        }

        public string? OptionalString(string key, Regex? pattern, string expected)
        {
            var text = Text(key);
            if (string.IsNullOrWhiteSpace(text))
                return null;
            return pattern is null ? text.Trim() : Check(key, text.Trim(), pattern, expected);
        }

        /// <summary>Whether the key has a value at all (right or wrong).</summary>
        public bool IsSet(string key) => !string.IsNullOrWhiteSpace(Text(key));

        public string Name(string key, string fallback, Regex pattern, string expected) =>
            OptionalString(key, pattern, expected) ?? fallback;

        public IReadOnlyList<string>? RequiredList(string key, Regex pattern, string expected)
        {
            var items = List(key);
            if (items is null || items.Count == 0)
            {
                problems.Add($"{key}: missing; expected a list of {expected} (JSON array, or comma-separated with -c).");
                return null;
            }
            var bad = items.Where(i => !pattern.IsMatch(i)).ToArray();
            if (bad.Length > 0)
                problems.Add($"{key}: {string.Join(", ", bad.Select(b => $"\"{b}\""))} not valid; expected {expected}.");
            var duplicates = items.GroupBy(i => i, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToArray();
            if (duplicates.Length > 0)
                problems.Add($"{key}: {string.Join(", ", duplicates)} listed more than once.");
            return items;
        }

        public IReadOnlyList<string>? OptionalList(string key, IEnumerable<string> allowed, string expected)
        {
            var items = List(key);
            if (items is null)
                return null;
            var allowedSet = allowed.ToHashSet(StringComparer.Ordinal);
            var bad = items.Where(i => !allowedSet.Contains(i)).ToArray();
            if (items.Count == 0 || bad.Length > 0)
            {
                problems.Add($"{key}: {(items.Count == 0 ? "empty" : string.Join(", ", bad.Select(b => $"\"{b}\"")) + " not valid")}; expected {expected}.");
                return null;
            }
            return items;
        }

        public int Int(string key, int fallback, int min, int max)
        {
            var raw = context(key);
            if (raw is null)
                return fallback;
            var text = Convert.ToString(raw, CultureInfo.InvariantCulture)?.Trim();
            if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
            {
                problems.Add($"{key}: \"{text}\" is not a whole number from {min} to {max}.");
                return fallback;
            }
            return value;
        }

        public bool Bool(string key, bool fallback)
        {
            var raw = context(key);
            if (raw is null)
                return fallback;
            if (raw is bool b)
                return b;
            var text = Convert.ToString(raw, CultureInfo.InvariantCulture)?.Trim();
            if (bool.TryParse(text, out var value))
                return value;
            problems.Add($"{key}: \"{text}\" is not true or false.");
            return fallback;
        }

        public T Choice<T>(string key, string fallback, IReadOnlyDictionary<string, T> choices)
        {
            var text = Text(key)?.Trim();
            if (string.IsNullOrEmpty(text))
                return choices[fallback];
            if (choices.TryGetValue(text, out var value))
                return value;
            problems.Add($"{key}: \"{text}\" is not one of {string.Join(", ", choices.Keys)}.");
            return choices[fallback];
        }

        private string? Check(string key, string value, Regex pattern, string expected)
        {
            if (pattern.IsMatch(value))
                return value;
            problems.Add($"{key}: \"{value}\" is not valid; expected {expected}.");
            return null;
        }

        private string? Text(string key) => context(key) switch
        {
            null => null,
            string s => s,
            JsonElement { ValueKind: JsonValueKind.String } e => e.GetString(),
            var other => Convert.ToString(other, CultureInfo.InvariantCulture),
        };

        private List<string>? List(string key)
        {
            var raw = context(key);
            switch (raw)
            {
                case null:
                    return null;
                case string s when s.TrimStart().StartsWith('['):
                    try
                    {
                        using var doc = JsonDocument.Parse(s);
                        return FromJson(doc.RootElement);
                    }
                    catch (JsonException)
                    {
                        problems.Add($"{key}: \"{s}\" is not a JSON array of strings.");
                        return [];
                    }
                case string s:
                    return s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
                case JsonElement e:
                    return FromJson(e);
                case IEnumerable items:
                    return items.Cast<object?>()
                        .Select(i => Convert.ToString(i, CultureInfo.InvariantCulture)?.Trim() ?? "")
                        .ToList();
                default:
                    problems.Add($"{key}: expected a list.");
                    return [];
            }
        }

        private List<string> FromJson(JsonElement element)
        {
            if (element.ValueKind != JsonValueKind.Array)
                return [element.ToString()];
            return element.EnumerateArray().Select(e => e.ToString().Trim()).ToList();
        }
    }
}
