using ControlPlane.Server.AdminCli;

namespace ControlPlane.Server.Tests.AdminCli;

public sealed class CliInputTests
{
    [Theory]
    [InlineData("90", 90)]
    [InlineData("30s", 30)]
    [InlineData("10m", 600)]
    [InlineData("2h", 7_200)]
    [InlineData("7d", 604_800)]
    [InlineData("1h30m", 5_400)]
    [InlineData("1d2h3m4s", 93_784)]
    [InlineData("366d", 31_622_400)]
    public void Durations_are_read_in_seconds_minutes_hours_and_days(string text, long seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), CliInput.Duration(text, "--ttl"));

    [Theory]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("1.5h")]
    [InlineData("10 m")]
    [InlineData("m")]
    [InlineData("367d")]
    [InlineData("999999999d")]
    [InlineData("1w")]
    public void Bad_durations_are_usage_errors(string text) =>
        Assert.Throws<CliUsageException>(() => CliInput.Duration(text, "--ttl"));

    [Theory]
    [InlineData("openai-gpt4o-us")]
    [InlineData("legal_draft")]
    [InlineData("a.b")]
    [InlineData("legal_draft~3")]
    [InlineData("legal_draft~bg2")]
    public void Fleet_identifiers_and_proposal_ids_are_ids(string id) => Assert.Equal(id, CliInput.Id(id, "ID"));

    [Theory]
    [InlineData("")]
    [InlineData("-leading")]
    [InlineData("a/b")]
    [InlineData("a%2Fb")]
    [InlineData("..")]
    [InlineData("a?b")]
    public void Anything_else_is_not_an_id(string id) => Assert.Throws<CliUsageException>(() => CliInput.Id(id, "ID"));

    [Fact]
    public void Every_product_role_is_accepted_and_nothing_else()
    {
        foreach (var role in ControlPlane.Service.Security.Roles.All)
        {
            Assert.Equal(role, CliInput.Role(role));
        }

        Assert.Throws<CliUsageException>(() => CliInput.Role("Admin"));
        Assert.Throws<CliUsageException>(() => CliInput.Role("root"));
    }
}
