using ControlPlane.Simulator.Scenario;
using ControlPlane.Simulator.Tests.Support;

namespace ControlPlane.Simulator.Tests.Scenario;

/// <summary>Scenario files: every field read, every problem reported at its line and column, nothing partial.</summary>
public sealed class ScenarioLoaderTests
{
    private static string ScenarioFile(string name) => Path.Combine(AppContext.BaseDirectory, "Scenarios", name);

    [Fact]
    public void SampleScenarioReadsEveryField()
    {
        var scenario = ScenarioLoader.LoadFile(ScenarioFile("provider-outage.yaml"));
        Assert.Equal("provider-outage", scenario.Name);
        Assert.Equal(TimeSpan.FromSeconds(150), scenario.Duration);
        Assert.Equal(42, scenario.Seed);
        Assert.Equal(2, scenario.Traffic.DefaultRps);
        Assert.Equal(20, scenario.Traffic.RateFor("customer_chat"));
        Assert.Equal(2, scenario.Traffic.RateFor("unlisted"));
        Assert.Equal(new LatencyOverride(120, 200), scenario.Latency["openai-gpt41mini-us"]);
        Assert.Equal(7, scenario.Faults.Length);
        var outage = scenario.Faults[0];
        Assert.Equal(("openai-gpt4o-us", FaultKind.Outage, OutageMode.Http500), (outage.Endpoint, outage.Kind, outage.Mode));
        Assert.Equal((TimeSpan.FromSeconds(30), (TimeSpan?)TimeSpan.FromSeconds(90)), (outage.Start, outage.End));
        Assert.Equal(TimeSpan.FromSeconds(7), scenario.Faults[1].RetryAfter);
        Assert.Equal(0.5, scenario.Faults[2].Share);
        Assert.Equal(0.16, scenario.Faults[3].Share);
        Assert.Equal("gemini-2.5-pro-preview-06-05", scenario.Faults[4].ModelVersion);
        Assert.Equal(8, scenario.Faults[5].OutputFactor);
        Assert.Equal((5.0, (TimeSpan?)TimeSpan.FromMinutes(2)), (scenario.Faults[6].Factor, scenario.Faults[6].End));
    }

    [Fact]
    public void BrokenScenarioListsEveryProblemAtItsLineAndColumn()
    {
        string path = ScenarioFile("broken.yaml");
        var e = Assert.Throws<ScenarioFileException>(() => ScenarioLoader.LoadFile(path, SampleIds));
        Assert.Equal(
            [
                $"{path}:6:11: faults[0].mode: unknown mode 'http_502'; expected one of http_500, http_503, refused, reset_mid_stream",
                $"{path}:7:15: faults[1].endpoint: 'no-such-endpoint' is not an endpoint of the fleet",
                $"{path}:10:10: faults[1].tpm: applies only to kind rate_limit, not latency",
                $"{path}:14:10: faults[2].end: must be after start (30s)",
            ],
            e.Errors.Select(x => x.ToString()));
    }

    [Theory]
    [InlineData("name: x\nfaults:\n  - { endpoint: ep-openai, kind: outge }", "test.yaml:3:34: faults[0].kind: unknown kind 'outge'")]
    [InlineData("name: x\nfaults:\n  - { endpoint: ep-openai, kind: latency, factor: \"5\" }", "test.yaml:3:51: faults[0].factor: expected a number")]
    [InlineData("name: x\nfaults:\n  - { endpoint: ep-openai, kind: latency, start: 5 minutes }", "test.yaml:3:50: faults[0].start: expected a duration")]
    [InlineData("name: x\nfaults:\n  - { endpoint: ep-openai, kind: outage, share: 1.5 }", "test.yaml:3:49: faults[0].share: must be greater than 0 and at most 1")]
    [InlineData("name: x\nfaults:\n  - { endpoint: ep-openai, kind: outage, mode: refused, share: 0.5 }", "faults[0].share: a refused port refuses every connection")]
    [InlineData("name: x\nfaults:\n  - { endpoint: ep-openai, kind: model_change }", "test.yaml:3:5: faults[0].model_version: is required for kind model_change")]
    [InlineData("name: x\nfaults:\n  - { endpoint: ep-openai, kind: rate_limit, tpm: -3 }", "faults[0].tpm: expected a positive integer")]
    [InlineData("name: x\nfaults:\n  - { endpoint: ep-openai, kind: outage, colour: red }", "test.yaml:3:42: faults[0].colour: unknown key")]
    [InlineData("name: x\nduration: 10s\nfaults:\n  - { endpoint: ep-openai, kind: outage, start: 20s }", "test.yaml:4:5: faults[0].start: starts at or after the scenario's end (10s)")]
    [InlineData("name: x\nlatency:\n  ep-openai: { ttft_ms: 0 }", "test.yaml:3:25: latency.ep-openai.ttft_ms: must be greater than 0")]
    [InlineData("name: x\nlatency:\n  ep-nope: { ttft_ms: 10 }", "test.yaml:3:3: latency.ep-nope: 'ep-nope' is not an endpoint of the fleet")]
    [InlineData("name: x\ntraffic: { default_rps: -1 }", "test.yaml:2:25: traffic.default_rps: must be between 0 and")]
    [InlineData("description: no name", "test.yaml:1:1: name: is required")]
    [InlineData("name: x\nfaults: [ { endpoint: ep-openai, kind: outage ]", "test.yaml:2:")]
    [InlineData("", "test.yaml:1:1: the file is empty")]
    public void InvalidScenariosNameTheFieldAndPosition(string yaml, string expected)
    {
        var e = Assert.Throws<ScenarioFileException>(() => ScenarioLoader.Load(new StringReader(yaml), "test.yaml", SimRun.EndpointIds));
        Assert.Contains(e.Errors, error => error.ToString().StartsWith(expected, StringComparison.Ordinal)
            || (error.ToString().Contains(expected, StringComparison.Ordinal) && error.Line > 0));
    }

    [Fact]
    public async Task AnInvalidScenarioFileStopsTheSimulatorFromStarting()
    {
        var e = await Assert.ThrowsAsync<ScenarioFileException>(() => SimulatorHost.StartAsync(
            new SimulatorOptions { FleetPath = SimRun.FleetPath, ScenarioPath = ScenarioFile("broken.yaml") }, CancellationToken.None));
        Assert.Contains("broken.yaml:6:11", e.Message, StringComparison.Ordinal);
    }

    private static readonly IReadOnlySet<string> SampleIds = new HashSet<string>(StringComparer.Ordinal)
    {
        "openai-gpt4o-us", "openai-gpt41-us", "openai-gpt41mini-us", "anthropic-sonnet-us", "anthropic-sonnet-eu",
        "google-gemini-flash-eu", "google-gemini-pro-us", "selfhosted-llama-eu",
    };
}
