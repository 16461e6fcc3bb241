namespace ControlPlane.Drills.Tests;

public sealed class DrillCommandTests
{
    [Fact]
    public void A_scenario_name_resolves_under_deploy_drills_and_options_parse()
    {
        var options = DrillCommand.Parse(["outage", "--short", "--replicas", "3", "--out", "/tmp/x", "--target", "portkey"], AppContext.BaseDirectory, out var error);
        Assert.Null(error);
        Assert.NotNull(options);
        Assert.EndsWith(Path.Combine("drills", "outage.yaml"), options.ScenarioPath, StringComparison.Ordinal);
        Assert.True(options.Short);
        Assert.Equal(3, options.Replicas);
        Assert.Equal("portkey", options.Target);
        Assert.Equal("/tmp/x", options.OutputDirectory);
    }

    [Theory]
    [InlineData("no-such-scenario")]
    [InlineData("../outage")]
    [InlineData("outage --replicas 9")]
    [InlineData("outage --cluster 2")]
    [InlineData("outage --bogus")]
    [InlineData("outage --out")]
    [InlineData("outage extra")]
    [InlineData("--short")]
    public void Bad_arguments_are_refused_with_a_reason(string args)
    {
        Assert.Null(DrillCommand.Parse(args.Split(' '), AppContext.BaseDirectory, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }
}
