using static ControlPlane.Fleet.Tests.FleetYaml;

namespace ControlPlane.Fleet.Tests;

/// <summary>Pinned versions must be explicit: aliases are refused unless the endpoint accepts them
/// (<c>accepted_alias: true</c>); <c>on_model_change</c> says what a silent model change does.</summary>
public sealed class ModelPinTests
{
    [Theory]
    [InlineData("latest", "'latest' is an alias the provider repoints")]
    [InlineData("Latest", "'latest' is an alias the provider repoints")]
    [InlineData("stable", "'stable' is an alias the provider repoints")]
    [InlineData("gpt-4o-latest", "a '-latest' suffix is an alias the provider repoints")]
    [InlineData("chatgpt-4o:latest", "a ':latest' suffix is an alias the provider repoints")]
    [InlineData("gpt-4o@latest", "a '@latest' suffix is an alias the provider repoints")]
    [InlineData("gpt-4o-*", "a wildcard matches whatever the provider serves")]
    [InlineData("gpt-4o", "the bare model name is an alias for whatever version the provider serves under it")]
    [InlineData("GPT-4o", "the bare model name is an alias for whatever version the provider serves under it")]
    public void An_alias_is_refused_with_its_position(string version, string why)
    {
        string line = $"    model_version: \"{version}\"";
        var error = Assert.Single(Errors(With((6, line))));

        Assert.Equal(
            $"test.yaml:6:{Col(line, "\"")}: endpoints.ep-a.model_version: '{version}' is not a pinned version: {why}; "
            + "pin a dated or numbered version (e.g. gpt-4o-2024-08-06) or set accepted_alias: true",
            error.ToString());
    }

    [Theory]
    [InlineData("gpt-4o-2024-08-06")]
    [InlineData("latest-2024-08-06")]
    [InlineData("gpt-4o-latestish")]
    [InlineData("v1")]
    [InlineData("llama-3.3-70b-instruct-fp8-r2")]
    public void A_pinned_version_loads(string version)
    {
        Assert.True(Load(With((6, $"    model_version: {version}"))).TryGetEndpoint("ep-a", out var a));
        Assert.Equal(version, a.Descriptor.ModelVersion);
        Assert.False(a.AcceptedAlias);
    }

    [Fact]
    public void An_accepted_alias_loads_and_is_marked()
    {
        var fleet = Load(With((6, "    model_version: gpt-4o-latest"), (14, "    accepted_alias: true")));

        Assert.True(fleet.TryGetEndpoint("ep-a", out var a));
        Assert.Equal("gpt-4o-latest", a.Descriptor.ModelVersion);
        Assert.True(a.AcceptedAlias);
        Assert.True(fleet.TryGetEndpoint("ep-b", out var b));
        Assert.False(b.AcceptedAlias);
    }

    [Fact]
    public void Accepted_alias_false_still_refuses_and_every_alias_is_reported()
    {
        var errors = Errors(With((6, "    model_version: latest"), (14, "    accepted_alias: false"), (18, "    model_version: claude-sonnet-4")));

        Assert.Equal(
            ["endpoints.ep-a.model_version", "endpoints.ep-b.model_version"],
            errors.Select(e => e.Field));
    }

    [Fact]
    public void On_model_change_defaults_to_alert_and_reads_drain()
    {
        Assert.True(Load(Base).TryGetEndpoint("ep-a", out var a));
        Assert.Equal(ModelChangeAction.Alert, a.OnModelChange);

        Assert.True(Load(With((14, "    on_model_change: drain"))).TryGetEndpoint("ep-a", out var drained));
        Assert.Equal(ModelChangeAction.Drain, drained.OnModelChange);
        Assert.True(Load(With((14, "    on_model_change: alert"))).TryGetEndpoint("ep-a", out var alerted));
        Assert.Equal(ModelChangeAction.Alert, alerted.OnModelChange);
    }

    [Theory]
    [InlineData("    on_model_change: page", "page", "endpoints.ep-a.on_model_change: unknown action 'page'; expected one of alert, drain")]
    [InlineData("    accepted_alias: \"true\"", "\"true\"", "endpoints.ep-a.accepted_alias: expected true or false, got the string 'true'")]
    [InlineData("    accepted_alias: yes", "yes", "endpoints.ep-a.accepted_alias: expected true or false, got 'yes'")]
    [InlineData("    accepted_alias: [true]", "[", "endpoints.ep-a.accepted_alias: expected true or false, got a list")]
    public void Wrong_values_are_refused(string line, string token, string message)
    {
        var error = Assert.Single(Errors(With((14, line))));
        Assert.Equal($"test.yaml:14:{Col(line, token)}: {message}", error.ToString());
    }

    [Fact]
    public void The_sample_fleet_loads_with_its_one_accepted_alias_and_one_draining_endpoint()
    {
        var fleet = FleetLoader.LoadFile(FleetSampleTests.SamplePath);

        Assert.Equal(["google-gemini-pro-us"], fleet.Endpoints.Where(e => e.AcceptedAlias).Select(e => e.Id));
        Assert.Equal(["anthropic-sonnet-eu"], fleet.Endpoints.Where(e => e.OnModelChange == ModelChangeAction.Drain).Select(e => e.Id));
        Assert.All(fleet.Endpoints.Where(e => !e.AcceptedAlias), e => Assert.Null(ModelPinReader.AliasReason(e.Descriptor.Model, e.Descriptor.ModelVersion)));
    }
}
