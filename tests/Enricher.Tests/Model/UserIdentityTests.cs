using Pipeline.Enricher.Model;

namespace Pipeline.Enricher.Tests.Model;

public sealed class UserIdentityTests
{
    private const string Account = "222222222222";

    /// <summary>An assumed-role identity as CloudTrail writes it: the session ARN, the principal id and the issuer.</summary>
    private static UserIdentity Session(string role, string session, string? issuerPath = null, string? invokedBy = null) => new()
    {
        Type = "AssumedRole",
        Arn = $"arn:aws:sts::{Account}:assumed-role/{role}/{session}",
        PrincipalId = "AROAEXAMPLE:" + session,
        AccountId = Account,
        InvokedBy = invokedBy,
        SessionIssuerArn = $"arn:aws:iam::{Account}:role/{issuerPath}{role}",
        SessionIssuerUserName = role,
    };

    [Fact]
    public void An_identity_center_session_is_the_person_via_the_permission_set()
    {
        var sso = Session("AWSReservedSSO_AdministratorAccess_5f1e2d3c4b5a6978", "alice@example.com", "aws-reserved/sso.amazonaws.com/eu-west-1/");

        Assert.Equal("alice@example.com via AdministratorAccess", sso.DisplayName);
        Assert.True(sso.IsPerson);
        Assert.Null(sso.ActorKey);
    }

    [Theory]
    [InlineData("AWSReservedSSO_Read_Only_0a1b2c3d4e5f6a7b", "Read_Only")] // a permission set name may hold "_"
    [InlineData("AWSReservedSSO_DevAdmin_xxxxxxxxxxxxxxxx", "DevAdmin")]   // redacted suffix in shared samples
    [InlineData("AWSReservedSSO_OrgAdmin", "OrgAdmin")]
    public void The_permission_set_is_the_name_between_the_prefix_and_the_suffix(string role, string permissionSet) =>
        Assert.Equal("bob via " + permissionSet, Session(role, "bob").DisplayName);

    [Fact]
    public void A_session_arn_cut_short_still_names_the_person_from_the_principal_id()
    {
        // Seen in the wild: the issuer is intact but the session ARN lost its role/session split.
        var sso = Session("AWSReservedSSO_account-admin_599c9e90e350d2ff", "carol@example.com") with
        {
            Arn = $"arn:aws:sts::{Account}:assumed-role/AWSReservedSSOcarol@example.com",
        };
        Assert.Equal("carol@example.com via account-admin", sso.DisplayName);
    }

    [Fact]
    public void An_identity_center_user_is_the_person_via_identity_center()
    {
        var named = new UserIdentity { Type = "IdentityCenterUser", UserName = "alice", AccountId = Account };
        var byId = new UserIdentity { Type = "IdentityCenterUser", OnBehalfOfUserId = "94482488-3041-7026-18f3-be45837cd0e4", AccountId = Account };

        Assert.Equal("alice via Identity Center", named.DisplayName);
        Assert.Equal("94482488-3041-7026-18f3-be45837cd0e4 via Identity Center", byId.DisplayName);
        Assert.True(named.IsPerson);
        Assert.Null(named.ActorKey);
    }

    [Fact]
    public void An_ordinary_role_keeps_role_and_session_and_its_actor_drops_the_session()
    {
        var ci = Session("terraform-ci", "gh-actions-run-8812");

        Assert.Equal("role/terraform-ci/gh-actions-run-8812", ci.DisplayName);
        Assert.False(ci.IsPerson);
        Assert.Equal("role/terraform-ci", ci.ActorKey);
    }

    [Fact]
    public void A_role_known_only_from_its_arn_gets_the_same_names()
    {
        var ci = Session("deployer", "ci") with { SessionIssuerArn = null, SessionIssuerUserName = null };
        Assert.Equal("role/deployer/ci", ci.DisplayName);
        Assert.Equal("role/deployer", ci.ActorKey);
    }

    [Theory]
    [InlineData("AWSServiceRoleForAutoScaling", "aws-service-role/autoscaling.amazonaws.com/", null, "service-linked: autoscaling.amazonaws.com")]
    [InlineData("AWSServiceRoleForElasticLoadBalancing", null, "elasticloadbalancing.amazonaws.com", "service-linked: elasticloadbalancing.amazonaws.com")]
    [InlineData("AWSServiceRoleForSSO", null, null, "service-linked: AWSServiceRoleForSSO")]
    [InlineData("stacksets-exec-1a2b3c4d5e6f708192a3b4c5d6e7f809", null, null, "StackSets: stacksets-exec-1a2b3c4d…")]
    [InlineData("stacksets-exec-1a2b", null, null, "StackSets: stacksets-exec-1a2b")]
    [InlineData("AWSCloudFormationStackSetExecutionRole", null, null, "StackSets: AWSCloudFormationStackSetExecutionRole")]
    [InlineData("AWSControlTowerExecution", null, null, "Control Tower: AWSControlTowerExecution")]
    [InlineData("aws-controltower-ConfigRecorderRole", null, null, "Control Tower: ConfigRecorderRole")]
    public void Roles_of_aws_automation_are_shown_as_what_they_are(string role, string? issuerPath, string? invokedBy, string expected)
    {
        var identity = Session(role, "some-session-1234", issuerPath, invokedBy);

        Assert.Equal(expected, identity.DisplayName);
        Assert.False(identity.IsPerson);
        Assert.Equal("role/" + role, identity.ActorKey);
    }

    [Fact]
    public void A_role_under_the_service_role_path_is_service_linked_whatever_its_name()
    {
        var identity = Session("CustomNamedRole", "s", "aws-service-role/ssm.amazonaws.com/");
        Assert.Equal("service-linked: ssm.amazonaws.com", identity.DisplayName);
        Assert.Equal("role/CustomNamedRole", identity.ActorKey);
    }

    [Fact]
    public void Services_and_other_accounts_are_actors_and_not_people()
    {
        var service = new UserIdentity { Type = "AWSService", InvokedBy = "cloudformation.amazonaws.com" };
        var account = new UserIdentity { Type = "AWSAccount", AccountId = "999999999999", PrincipalId = "AIDAEXAMPLE" };

        Assert.Equal("service/cloudformation.amazonaws.com", service.DisplayName);
        Assert.Equal("service/cloudformation.amazonaws.com", service.ActorKey);
        Assert.False(service.IsPerson);
        Assert.Equal("account/999999999999", account.ActorKey);
        Assert.False(account.IsPerson);
    }

    [Fact]
    public void People_are_never_actors()
    {
        UserIdentity[] people =
        [
            new() { Type = "Root", Arn = $"arn:aws:iam::{Account}:root" },
            new() { Type = "IAMUser", UserName = "alice" },
            new() { Type = "FederatedUser", Arn = $"arn:aws:sts::{Account}:federated-user/bob", SessionIssuerUserName = "broker" },
            new() { Type = "IdentityCenterUser", OnBehalfOfUserId = "u-1" },
        ];
        Assert.All(people, p => Assert.True(p.IsPerson, p.Type));
        Assert.All(people, p => Assert.Null(p.ActorKey));
        Assert.Equal(["root", "user/alice", "federated/broker", "u-1 via Identity Center"], people.Select(p => p.DisplayName));
    }

    [Fact]
    public void An_identity_that_names_nothing_is_neither_a_person_nor_an_actor()
    {
        Assert.False(UserIdentity.Unknown.IsPerson);
        Assert.Null(UserIdentity.Unknown.ActorKey);
        Assert.Null(new UserIdentity { Type = "AssumedRole", PrincipalId = "AROAEXAMPLE:x" }.ActorKey);
        Assert.Null(new UserIdentity { Type = "AWSService" }.ActorKey);
    }

    [Fact]
    public void A_name_made_of_parts_shows_each_part_or_its_stand_in()
    {
        var federated = new UserIdentity { Type = "FederatedUser", Arn = $"arn:aws:sts::{Account}:federated-user/broker/bob", SessionIssuerUserName = "broker" };
        var noSession = new UserIdentity { Type = "AssumedRole", SessionIssuerUserName = "AWSReservedSSO_Admin_0123456789abcdef" };
        var sessionInPrincipal = new UserIdentity { Type = "AssumedRole", Arn = $"arn:aws:sts::{Account}:assumed-role/deployer", PrincipalId = "AROAEXAMPLE:ci-run-7" };

        Assert.Equal("federated/broker/bob", federated.DisplayName);
        Assert.Equal("unknown via Admin", noSession.DisplayName);
        Assert.True(noSession.IsPerson);
        Assert.Equal("role/deployer/ci-run-7", sessionInPrincipal.DisplayName);
    }

    [Fact]
    public void Names_are_worked_out_once_per_identity_and_a_with_copy_gets_its_own()
    {
        var deployer = Session("deployer", "ci-run-7");

        Assert.Same(deployer.DisplayName, deployer.DisplayName); // the same string each time: built once, not per event
        Assert.Equal("role/deployer", deployer.ActorKey);

        // A copy with other fields starts from its original's memo, and must not answer with it.
        var person = deployer with { Type = "IAMUser", UserName = "alice", SessionIssuerUserName = null };
        Assert.Equal("user/alice", person.DisplayName);
        Assert.True(person.IsPerson);
        Assert.Null(person.ActorKey);
        Assert.Equal("role/deployer/ci-run-7", deployer.DisplayName);

        // Equality and hashing stay those of the fields, whether the names were asked for or not.
        var fresh = Session("deployer", "ci-run-7");
        Assert.Equal(deployer, fresh);
        Assert.Equal(deployer.GetHashCode(), fresh.GetHashCode());
        Assert.NotEqual(deployer, person);
    }
}
