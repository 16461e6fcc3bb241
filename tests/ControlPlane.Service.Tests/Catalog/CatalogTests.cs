using ControlPlane.Domain.Policy;
using ControlPlane.Service.Admin;
using ControlPlane.Service.Catalog;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Service.Tests.Catalog;

/// <summary>The catalog view over the sample fleet: ownership, pinned versions, prices and limits from the file; the
/// classes that depend on each endpoint from the live class policies; deprecation stages from the clock.</summary>
public sealed class CatalogTests : IDisposable
{
    // 2026-12-06: openai-gpt4o-us (2026-12-31) is 25 days out, google-gemini-flash-eu (2027-02-05) 61 days.
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task The_catalog_shows_every_endpoint_with_owner_pin_price_limits_and_dependent_classes()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var catalog = await node.Services.GetRequiredService<CatalogOperations>().GetCatalogAsync();

        Assert.Equal(ServiceNode.SampleFleet().Endpoints.Select(e => e.Id), catalog.Select(e => e.Id));
        var gpt4o = catalog.Single(e => e.Id == "openai-gpt4o-us");
        Assert.Equal(("openai", "gpt-4o", "gpt-4o-2024-08-06", false, "us-east", "platform-ai", "#ai-platform-oncall"),
            (gpt4o.Provider, gpt4o.Model, gpt4o.ModelVersion, gpt4o.AcceptedAlias, gpt4o.Region, gpt4o.OwnerTeam, gpt4o.OnCall));
        Assert.Equal(new CatalogPriceView(0.0025m, 0.01m), gpt4o.Price);
        Assert.Equal(new CatalogLimitsView(2_000_000, 5_000), gpt4o.Limits);
        Assert.Equal(["customer_chat"], gpt4o.PrimaryOf);
        Assert.Empty(gpt4o.FallbackOf);
        Assert.Null(gpt4o.ModelChange);

        var llama = catalog.Single(e => e.Id == "selfhosted-llama-eu");
        Assert.Empty(llama.PrimaryOf);
        Assert.Equal(["internal_copilot", "batch_classification"], llama.FallbackOf);
        Assert.True(catalog.Single(e => e.Id == "google-gemini-pro-us").AcceptedAlias);
        Assert.Equal("drain", catalog.Single(e => e.Id == "anthropic-sonnet-eu").OnModelChange);
    }

    [Fact]
    public async Task Dependent_classes_follow_the_live_policy_not_only_the_file()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var ops = node.Services.GetRequiredService<CatalogOperations>();
        var grain = node.Grains.GetGrain<IWorkloadClassGrain>("batch_classification");
        var current = await grain.GetDetailsAsync();

        // The class drops the self-hosted fallback (through the class grain, as an applied policy change does).
        var policy = current.Policy with { Fallbacks = [.. current.Policy.Fallbacks.Where(f => f.EndpointId != "selfhosted-llama-eu")] };
        await grain.SetPolicyAsync(new PolicyChange(policy, TestActors.Named("alice"), "llama failed the new eval", current.Version));

        Assert.Equal(["internal_copilot"], (await ops.GetEntryAsync("selfhosted-llama-eu")).FallbackOf);
        Assert.Equal(["internal_copilot"], (await ops.GetCatalogAsync()).Single(e => e.Id == "selfhosted-llama-eu").FallbackOf);
    }

    [Fact]
    public async Task Deprecations_show_date_target_days_left_and_the_notice_stage_as_owner_alerts()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var ops = node.Services.GetRequiredService<CatalogOperations>();

        var gpt4o = await ops.GetEntryAsync("openai-gpt4o-us");
        Assert.Equal(new CatalogDeprecationView(new DateOnly(2026, 12, 31), "openai-gpt41-us", 25, "30d"), gpt4o.Deprecation);
        var alert = Assert.Single(gpt4o.Alerts);
        Assert.Equal(("deprecation", "platform-ai", "#ai-platform-oncall", "ticket"), (alert.Kind, alert.OwnerTeam, alert.OnCall, alert.Severity));
        Assert.Equal("90d", (await ops.GetEntryAsync("google-gemini-flash-eu")).Deprecation?.Notice);
        Assert.Null((await ops.GetEntryAsync("openai-gpt41-us")).Deprecation);
        Assert.Empty((await ops.GetEntryAsync("openai-gpt41-us")).Alerts);

        // The fleet view carries the same alerts.
        Assert.Equal(["openai-gpt4o-us", "google-gemini-flash-eu"],
            (await node.Admin.GetFleetAsync()).Alerts.Where(a => a.Kind == "deprecation").Select(a => a.EndpointId));
    }

    [Fact]
    public async Task An_unknown_endpoint_is_not_found_naming_the_id()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var error = await Assert.ThrowsAsync<AdminException>(() => node.Services.GetRequiredService<CatalogOperations>().GetEntryAsync("nope"));
        Assert.Equal((AdminErrorKind.NotFound, "id"), (error.Kind, error.Field));
    }

    [Fact]
    public void Seven_days_out_is_a_page_and_the_date_itself_is_past_due()
    {
        Assert.True(ServiceNode.SampleFleet().TryGetEndpoint("openai-gpt4o-us", out var gpt4o));
        var week = CatalogDeprecationView.From(gpt4o.Deprecation!, new DateOnly(2026, 12, 26));
        Assert.Equal((5, "7d"), (week.DaysLeft, week.Notice));
        Assert.Equal("page", Assert.Single(CatalogAlertView.For(gpt4o, week, null)).Severity);

        var past = CatalogDeprecationView.From(gpt4o.Deprecation!, new DateOnly(2027, 1, 1));
        Assert.Equal((-1, "past"), (past.DaysLeft, past.Notice));
        Assert.StartsWith("gpt-4o-2024-08-06 was retired on 2026-12-31; migrate to openai-gpt41-us", Assert.Single(CatalogAlertView.For(gpt4o, past, null)).Message,
            StringComparison.Ordinal);
        Assert.Empty(CatalogAlertView.For(gpt4o, CatalogDeprecationView.From(gpt4o.Deprecation!, new DateOnly(2026, 9, 1)), null));
    }

    [Theory]
    [InlineData(91, null)]
    [InlineData(90, "90d")]
    [InlineData(31, "90d")]
    [InlineData(30, "30d")]
    [InlineData(8, "30d")]
    [InlineData(7, "7d")]
    [InlineData(1, "7d")]
    [InlineData(0, "past")]
    [InlineData(-400, "past")]
    public void Stages_start_at_90_30_and_7_days_and_on_the_date(int daysLeft, string? stage) =>
        Assert.Equal(stage, DeprecationStage.Of(daysLeft));

    public void Dispose() => _storage.Dispose();
}
