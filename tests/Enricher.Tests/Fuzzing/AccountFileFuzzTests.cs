using System.Text;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Parsing;
using Pipeline.Enricher.Reading;
using Pipeline.TestSupport.Fuzzing;

namespace Pipeline.Enricher.Tests.Fuzzing;

/// <summary>
/// Mutated accounts files (list-accounts JSON and CSV) into <see cref="AccountFile.Parse"/>: a result whose
/// accounts are all usable, or an <see cref="InputException"/> naming the file; nothing else.
/// </summary>
public sealed class AccountFileFuzzTests
{
    private const string Csv = """"
        id,name,environment,owner,channel
        111111111111,management,prod,platform@example.com,#sec-mgmt
        222222222222,"prod, payments",prod,"pay ""team""",#sec-prod
        # a comment
        333333333333,staging-platform,,,
        444444444444,sandbox,dev
        """";

    [Fact]
    public void Mutated_accounts_files_load_or_fail_with_an_input_error()
    {
        byte[][] seeds = [File.ReadAllBytes(FuzzSeeds.DemoFile("accounts.json")), Encoding.UTF8.GetBytes(Csv)];
        FuzzRunner.Run("accounts", 2500, rng =>
        {
            var mutator = new Mutator(rng);
            var log = new List<string>();
            var seed = mutator.Pick(seeds);
            var bytes = mutator.Chance(0.6) ? mutator.MutateJson(seed, log) : mutator.MutateBytes(seed, log);
            return new FuzzInput(bytes, string.Join("; ", log));
        }, input => Check(input.Bytes));
    }

    internal static void Check(byte[] content)
    {
        AccountFile.Result result;
        try
        {
            result = AccountFile.Parse(content, "accounts.fuzz");
        }
        catch (InputException e)
        {
            Assert.Contains("accounts.fuzz", e.Message, StringComparison.Ordinal);
            return;
        }
        foreach (var account in result.Accounts)
        {
            Assert.True(EventParser.IsAccountId(account.Id));
            Assert.False(string.IsNullOrWhiteSpace(account.Name));
        }
        Assert.All(result.Errors, e => Assert.False(string.IsNullOrWhiteSpace(e.Reason)));
    }
}
