using ControlPlane.Drills.Scenarios;
using ControlPlane.Drills.Stack;
using ControlPlane.Drills.Tests.Support;

namespace ControlPlane.Drills.Tests.Scenarios;

public sealed class DrillScenarioReaderTests
{
    public static TheoryData<string> Shipped => new(Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "drills"), "*.yaml")
        .Select(Path.GetFileNameWithoutExtension).Where(n => n != "fleet").Order(StringComparer.Ordinal)!);

    [Theory]
    [MemberData(nameof(Shipped))]
    public void Every_shipped_scenario_loads_against_the_sample_fleet_and_the_simulator_accepts_it(string name)
    {
        var scenario = DrillRunner.LoadScenario(Fixtures.Scenario(name), Fixtures.Fleet, @short: false, new DrillTuning());
        Assert.Equal(name, scenario.Name);
        Assert.NotEmpty(scenario.Faults);
        var ids = Fixtures.Fleet.Endpoints.Select(e => e.Id).ToHashSet(StringComparer.Ordinal);
        var simulator = ControlPlane.Simulator.Scenario.ScenarioLoader.LoadFile(Fixtures.Scenario(name), ids);
        Assert.Equal(scenario.Faults.Count, simulator.Faults.Length);
    }

    [Fact]
    public void Every_seed_failure_mode_has_a_scenario_and_bad_day_combines_several()
    {
        var names = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "drills"), "*.yaml").Select(Path.GetFileNameWithoutExtension).ToArray();
        var kinds = names.Select(n => DrillScenarioReader.LoadFile(Fixtures.Scenario(n!))).SelectMany(s => s.Faults).Select(f => f.Kind).ToHashSet();
        Assert.Equal(Enum.GetValues<FaultKind>().ToHashSet(), kinds);
        Assert.True(DrillScenarioReader.LoadFile(Fixtures.Scenario("bad-day")).Faults.Select(f => f.Kind).Distinct().Count() >= 3);
    }

    [Fact]
    public void Problems_are_located_to_file_line_and_column()
    {
        const string text = """
            name: Bad Name
            duration: 60s
            colour: red
            faults:
              - endpoint: e1
                kind: meltdown
                start: 10s
                end: 5s
              - endpoint: e2
                kind: latency
                start: 1s
                factor: 50
            """;
        var e = Assert.Throws<DrillScenarioException>(() => DrillScenarioReader.Parse(text, "bad.yaml"));
        Assert.Contains("bad.yaml:1:7: name: must be 1-64 characters", e.Message, StringComparison.Ordinal);
        Assert.Contains("bad.yaml:3:1: colour: unknown field", e.Message, StringComparison.Ordinal);
        Assert.Contains("bad.yaml:6:11: faults[0].kind: must be one of", e.Message, StringComparison.Ordinal);
        Assert.Contains("bad.yaml:8:10: faults[0].end: must be after start", e.Message, StringComparison.Ordinal);
        Assert.Contains("bad.yaml:12:13: faults[1].factor: must be a number from 3 to 10", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_fault_on_an_endpoint_the_fleet_lacks_is_refused_with_its_line()
    {
        var path = Path.Combine(Path.GetTempPath(), $"drill-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, "name: x\nduration: 60s\nfaults:\n  - endpoint: nowhere\n    kind: outage\n    start: 1s\n");
        try
        {
            var e = Assert.Throws<DrillScenarioException>(() => DrillRunner.LoadScenario(path, Fixtures.Fleet, false, new DrillTuning()));
            Assert.Contains($"{path}:4:1: faults: endpoint 'nowhere' is not in the fleet", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Short_scales_times_down_but_keeps_each_fault_30_s_and_the_recovery_window_after_it()
    {
        var tuning = new DrillTuning();
        var full = DrillScenarioReader.LoadFile(Fixtures.Scenario("outage"));
        var scaled = DrillRunner.LoadScenario(Fixtures.Scenario("outage"), Fixtures.Fleet, @short: true, tuning);
        var fault = Assert.Single(scaled.Faults);
        Assert.Equal(full.Faults[0].Start / 3, fault.Start);
        Assert.Equal(TimeSpan.FromSeconds(30), fault.End!.Value - fault.Start);
        Assert.True(scaled.Duration >= fault.End.Value + tuning.RecoveryLimit(2), $"{scaled.Duration} too short to see recovery");
        Assert.True(scaled.Duration < full.Duration);
    }

    [Theory]
    [InlineData("250ms", 0.25)]
    [InlineData("30s", 30)]
    [InlineData("2m", 120)]
    [InlineData("1.5h", 5400)]
    public void Durations_parse(string text, double seconds)
    {
        Assert.True(DrillScenarioReader.TryParseDuration(text, out var value));
        Assert.Equal(seconds, value.TotalSeconds, 6);
    }

    [Theory]
    [InlineData("30")]
    [InlineData("-1s")]
    [InlineData("1d")]
    [InlineData("100000h")]
    public void Bad_durations_do_not_parse(string text) => Assert.False(DrillScenarioReader.TryParseDuration(text, out _));
}
