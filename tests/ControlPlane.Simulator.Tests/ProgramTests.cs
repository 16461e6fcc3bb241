namespace ControlPlane.Simulator.Tests;

/// <summary>The command line: every flag read, bad input refused with the flag named.</summary>
public sealed class ProgramTests
{
    [Fact]
    public void ParsesEveryFlag()
    {
        var options = Program.Parse(["--fleet", "f.yaml", "--scenario", "s.yaml", "--seed", "9", "--host", "127.0.0.1", "--admin-port", "7000",
            "--base-port", "7100", "--upstreams-out", "u.json", "--latency-scale", "0", "--hold"]);
        Assert.Equal(("f.yaml", "s.yaml", (int?)9, 7000, 7100, "u.json", 0.0, true),
            (options.FleetPath, options.ScenarioPath, options.Seed, options.AdminPort, options.BasePort, options.UpstreamsOut, options.LatencyScale, options.Hold));
    }

    [Theory]
    [InlineData(new[] { "--scenario", "s.yaml" }, "fleet")]
    [InlineData(new[] { "--fleet", "f.yaml", "--seed", "x" }, "--seed")]
    [InlineData(new[] { "--fleet", "f.yaml", "--latency-scale", "-1" }, "--latency-scale")]
    [InlineData(new[] { "--fleet", "f.yaml", "--host", "localhost" }, "--host")]
    [InlineData(new[] { "--fleet", "f.yaml", "--admin-port", "70000" }, "--admin-port")]
    [InlineData(new[] { "--fleet", "f.yaml", "--colour" }, "--colour")]
    [InlineData(new[] { "--fleet", "f.yaml", "--bogus", "1" }, "--bogus")]
    public void RefusesBadArguments(string[] args, string named)
    {
        var e = Assert.Throws<ArgumentException>(() => Program.Parse(args));
        Assert.Contains(named, e.Message, StringComparison.Ordinal);
    }
}
