using System.Text;
using Pipeline.Enricher.Accounts;
using Pipeline.Enricher.Reading;

namespace Pipeline.Enricher.Tests.Accounts;

public sealed class AccountFileTests
{
    private static AccountFile.Result Parse(string text) => AccountFile.Parse(Encoding.UTF8.GetBytes(text), "f");

    [Fact]
    public void List_accounts_json_is_read_with_states_and_bad_entries_reported()
    {
        var result = Parse("""
            {"Accounts":[
              {"Id":"111122223333","Name":"prod","State":"ACTIVE"},
              {"Id":"444455556666","Name":"old","Status":"SUSPENDED"},
              {"Id":"123","Name":"short"},
              {"Id":"777788889999"}
            ]}
            """);
        Assert.Equal(["prod", "old"], result.Accounts.Select(a => a.Name));
        Assert.Equal("SUSPENDED", result.Accounts[1].State);
        Assert.Equal(["f Accounts[2]: account id '123' is not 12 digits", "f Accounts[3]: account 777788889999 has no name"], result.Errors.Select(e => e.ToString()));
    }

    [Fact]
    public void Csv_with_header_optional_columns_and_quotes_is_read_and_bad_rows_named_by_line()
    {
        var result = Parse("id,name,environment,owner,channel\n111122223333,\"Payments, prod\",prod,team-pay,#pay-alerts\n12ab,broken\n444455556666,sandbox\n");
        Assert.Equal(2, result.Accounts.Count);
        Assert.Equal(("Payments, prod", "prod", "team-pay", "#pay-alerts"), (result.Accounts[0].Name, result.Accounts[0].Environment, result.Accounts[0].Owner, result.Accounts[0].SlackChannel));
        Assert.Null(result.Accounts[1].SlackChannel);
        Assert.Equal("f:3", Assert.Single(result.Errors).Where);
    }

    [Fact]
    public void A_quoted_csv_cell_may_hold_line_breaks_and_doubled_quotes_and_later_rows_keep_their_line_numbers()
    {
        // RFC 4180: a quoted cell spans lines; before, the line break split it into two bad rows.
        var result = Parse("id,name,environment\r\n111122223333,\"Payments\r\n(EU, \"\"prod\"\")\",team-pay\r\n12ab,broken\r\n444455556666,sandbox\r\n");
        Assert.Equal(["Payments\n(EU, \"prod\")", "sandbox"], result.Accounts.Select(a => a.Name));
        Assert.Equal("team-pay", result.Accounts[0].Environment);
        Assert.Equal("f:4", Assert.Single(result.Errors).Where); // the row after the two-line record
    }

    [Fact]
    public void A_csv_quote_left_open_makes_its_row_an_error_and_keeps_the_rows_before_it()
    {
        var result = Parse("111122223333,prod\n444455556666,\"never closed\n777788889999,dev\n");
        Assert.Equal("prod", Assert.Single(result.Accounts).Name);
        var error = Assert.Single(result.Errors);
        Assert.Equal("f:2", error.Where);
        Assert.Contains("never closed", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Csv_lines_ending_in_a_lone_carriage_return_are_separate_rows()
    {
        var result = Parse("id,name\r111122223333,prod\r444455556666,dev\r");
        Assert.Equal(["prod", "dev"], result.Accounts.Select(a => a.Name));
    }

    [Fact]
    public void A_quote_inside_an_unquoted_csv_cell_is_text_and_does_not_swallow_the_next_row()
    {
        var result = Parse("111122223333,Rack 12\" a\n444455556666,B 5\" b\n");
        Assert.Equal(["Rack 12\" a", "B 5\" b"], result.Accounts.Select(a => a.Name));
        Assert.Empty(result.Errors);
    }

    [Fact]
    public void A_json_file_without_accounts_is_an_input_error()
    {
        var e = Assert.Throws<InputException>(() => Parse("{\"Users\":[]}"));
        Assert.Contains("list-accounts", e.Message, StringComparison.Ordinal);
    }
}
