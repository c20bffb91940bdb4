using Amazon.CDK;
using Amazon.CDK.AWS.IAM;
using Amazon.CDK.AWS.Lambda;
using Amazon.CDK.AWS.Scheduler;
using Constructs;

namespace Pipeline.Infra.Constructs;

internal sealed record SweepScheduleProps
{
    /// <summary>The digest function: the schedule's only target.</summary>
    public required IFunction Function { get; init; }
}

/// <summary>
/// The sweeper: an EventBridge Scheduler schedule that calls the digest function every minute with
/// <see cref="Input"/>. A shard that has gone quiet gets no next tumbling window, so the bursts its last window
/// carried would wait forever; the sweep takes carries whose window did not come back and posts the bursts that are
/// due. A sweep is never retried: a missed or failed one is replaced by the next, a minute later.
/// L1 <see cref="CfnSchedule"/>: Amazon.CDK.Lib 2.160.0 has no stable L2 for EventBridge Scheduler.
/// </summary>
internal sealed class SweepSchedule : Construct
{
    /// <summary>What the function receives from the schedule; the function tells a sweep from a Kinesis batch by it.</summary>
    public const string Input = """{"action":"sweep"}""";
    public const string Expression = "rate(1 minute)";
    /// <summary>How long Scheduler (and Lambda's asynchronous queue) may hold one sweep: after it, the next is due anyway.</summary>
    public const int MaximumEventAgeSeconds = 60;

    public SweepSchedule(Construct scope, string id, SweepScheduleProps props) : base(scope, id)
    {
        var stack = Amazon.CDK.Stack.Of(this);

        Role = new Role(this, "Role", new RoleProps
        {
            // Only the scheduler acting for this account (confused-deputy guard).
            AssumedBy = new ServicePrincipal("scheduler.amazonaws.com", new ServicePrincipalOpts
            {
                Conditions = new Dictionary<string, object>
                {
                    ["StringEquals"] = new Dictionary<string, object> { ["aws:SourceAccount"] = stack.Account },
                },
            }),
            Description = "The security pipeline's sweeper schedule: invoke the digest function, nothing else.",
        });
        Role.AddToPolicy(new PolicyStatement(new PolicyStatementProps
        {
            Sid = "InvokeDigestFunction",
            Actions = ["lambda:InvokeFunction"],
            Resources = [props.Function.FunctionArn],
        }));

        Schedule = new CfnSchedule(this, "Schedule", new CfnScheduleProps
        {
            Description = "Security pipeline: post the carried bursts of quiet shards once they are due.",
            ScheduleExpression = Expression,
            FlexibleTimeWindow = new CfnSchedule.FlexibleTimeWindowProperty { Mode = "OFF" },
            State = "ENABLED",
            Target = new CfnSchedule.TargetProperty
            {
                Arn = props.Function.FunctionArn,
                RoleArn = Role.RoleArn,
                Input = Input,
                RetryPolicy = new CfnSchedule.RetryPolicyProperty
                {
                    MaximumRetryAttempts = 0,
                    MaximumEventAgeInSeconds = MaximumEventAgeSeconds,
                },
            },
        });
        // The first calls must find the invoke permission in place.
        Schedule.Node.AddDependency(Role);

        // Scheduler invokes Lambda asynchronously, and Lambda would retry a failed call twice over up to six hours on
        // its own. The schedule is the function's only asynchronous caller (the stream mapping calls synchronously).
        AsyncInvoke = new EventInvokeConfig(this, "AsyncInvoke", new EventInvokeConfigProps
        {
            Function = props.Function,
            Qualifier = "$LATEST",
            RetryAttempts = 0,
            MaxEventAge = Duration.Seconds(MaximumEventAgeSeconds),
        });
    }

    public Role Role { get; }
    public CfnSchedule Schedule { get; }
    public EventInvokeConfig AsyncInvoke { get; }
}
