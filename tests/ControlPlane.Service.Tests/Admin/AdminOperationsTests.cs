using ControlPlane.Service.Admin;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Service.Tests.Admin;

public sealed class AdminOperationsTests : IDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly TestStorage _storage = new();

    [Theory]
    [InlineData("shut", "reason", 10L, "state")]
    [InlineData("", "reason", null, "state")]
    [InlineData("open", "", null, "reason")]
    [InlineData("open", "  ", null, "reason")]
    [InlineData("open", "reason", -5L, "ttlSeconds")]
    [InlineData("open", "reason", 0L, "ttlSeconds")]
    [InlineData("auto", "reason", 30L, "ttlSeconds")]
    public async Task Bad_breaker_commands_are_refused_naming_the_field_and_change_nothing(string state, string reason, long? ttl, string field)
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var error = await Assert.ThrowsAsync<AdminException>(() => node.Admin.SetBreakerAsync("openai-gpt4o-us", new(state, reason, ttl), TestActors.Named("alice")));
        Assert.Equal((AdminErrorKind.Invalid, field), (error.Kind, error.Field));
        Assert.Null((await node.Admin.GetEndpointAsync("openai-gpt4o-us")).Override);
        Assert.Empty(await node.Admin.GetAuditAsync(null));
    }

    [Theory]
    [InlineData("alice", "outage\nbreaker.auto by root: all clear", "reason")]
    [InlineData("alice", "outage \u001b[2J\u001b[31mcleared", "reason")]
    [InlineData("alice", "refund \u202Eevil\u202C done", "reason")]
    [InlineData("alice", "nul \u0000 byte", "reason")]
    public async Task Free_text_with_control_characters_or_bidi_overrides_is_refused_and_changes_nothing(string actor, string reason, string field)
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);

        var error = await Assert.ThrowsAsync<AdminException>(() => node.Admin.SetBreakerAsync("openai-gpt4o-us", new("open", reason, null), TestActors.Named(actor)));

        Assert.Equal((AdminErrorKind.Invalid, field), (error.Kind, error.Field));
        Assert.Null((await node.Admin.GetEndpointAsync("openai-gpt4o-us")).Override);
        Assert.Empty(await node.Admin.GetAuditAsync(null));
    }

    [Fact]
    public async Task An_unpaired_surrogate_in_free_text_is_refused()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        var reason = "half a pair " + (char)0xD800 + " here"; // built at run time: attribute strings cannot hold one

        var error = await Assert.ThrowsAsync<AdminException>(() => node.Admin.DrainAsync("openai-gpt4o-us", new(reason, null), TestActors.Named("alice")));

        Assert.Equal("reason", error.Field);
        Assert.Empty(await node.Admin.GetAuditAsync(null));
    }

    [Fact]
    public async Task Printable_unicode_in_free_text_is_kept_as_given()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);

        await node.Admin.SetBreakerAsync("openai-gpt4o-us", new("open", "Überlastung – 过载 🚧", null), TestActors.Named("zoë"));

        var entry = Assert.Single(await node.Admin.GetAuditAsync(null));
        Assert.Equal(("zoë", "Überlastung – 过载 🚧"), (entry.Actor.Principal, entry.Reason));
    }

    [Fact]
    public async Task Unknown_endpoint_and_class_are_not_found()
    {
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        Assert.Equal(AdminErrorKind.NotFound, (await Assert.ThrowsAsync<AdminException>(() => node.Admin.GetEndpointAsync("nope"))).Kind);
        Assert.Equal(AdminErrorKind.NotFound, (await Assert.ThrowsAsync<AdminException>(() => node.Admin.GetClassAsync("nope"))).Kind);
        Assert.Equal(AdminErrorKind.NotFound, (await Assert.ThrowsAsync<AdminException>(
            () => node.Admin.SetBreakerAsync("nope", new("open", "x", null), TestActors.Named("alice")))).Kind);
    }

    [Fact]
    public async Task Drain_undrain_and_breaker_changes_are_audited_newest_first_and_survive_a_restart()
    {
        await using (var node = await ServiceNode.StartAsync(_time, _storage))
        {
            await node.Admin.DrainAsync("google-gemini-pro-us", new("move to eu", null), TestActors.Named("carol"));
            Assert.True(node.Node.BuildTable([]).Endpoints.Single(e => e.EndpointId == "google-gemini-pro-us").Drained);
            _time.Advance(TimeSpan.FromSeconds(1));
            await node.Admin.UndrainAsync("google-gemini-pro-us", new("done", null), TestActors.Named("dave"));
            await node.Admin.SetBreakerAsync("openai-gpt4o-us", new("closed", "pin during eval", 600), TestActors.Named("erin"));
            await node.Admin.SetBreakerAsync("openai-gpt4o-us", new("auto", "eval over", null), TestActors.Named("erin"));

            var conflict = await Assert.ThrowsAsync<AdminException>(() => node.Admin.UndrainAsync("google-gemini-pro-us", new("again", null), TestActors.Named("dave")));
            Assert.Equal(AdminErrorKind.Conflict, conflict.Kind);
        }

        await using var restarted = await ServiceNode.StartAsync(_time, _storage);
        var audit = await restarted.Admin.GetAuditAsync(null);
        Assert.Equal(
            new[] { "breaker.auto", "breaker.force_closed", "endpoint.undrain", "endpoint.drain" },
            audit.Select(a => a.Action));
        Assert.Equal(new long[] { 4, 3, 2, 1 }, audit.Select(a => a.Sequence));
        Assert.Equal(("carol", "move to eu", "google-gemini-pro-us"), (audit[3].Actor.Principal, audit[3].Reason, audit[3].Target));
        Assert.Contains("ttl 600s", audit[2 - 1].After, StringComparison.Ordinal);
        Assert.Single(await restarted.Admin.GetAuditAsync(1));
        Assert.Null((await restarted.Admin.GetEndpointAsync("openai-gpt4o-us")).Override);
    }

    [Fact]
    public async Task Fleet_view_lists_every_endpoint_and_class_with_live_state_and_deprecations()
    {
        _time.SetUtcNow(new DateTimeOffset(2026, 11, 22, 3, 0, 0, TimeSpan.Zero));
        await using var node = await ServiceNode.StartAsync(_time, _storage);
        await node.Admin.SetBreakerAsync("selfhosted-llama-eu", new("open", "gpu node down", null), TestActors.Named("ops"));

        var fleet = await node.Admin.GetFleetAsync();

        Assert.Equal("acme-prod", fleet.Name);
        Assert.Equal(8, fleet.Endpoints.Count);
        Assert.Equal(5, fleet.Classes.Count);
        var llama = fleet.Endpoints.Single(e => e.Id == "selfhosted-llama-eu");
        Assert.Equal(("open", "forced", "force_open"), (llama.Breaker.State, llama.Breaker.Reason, llama.Override!.Kind));
        var legal = fleet.Classes.Single(c => c.Name == "legal_draft");
        Assert.Equal("queue_only", legal.Mode);
        Assert.Contains("openai-gpt4o-us: deprecated in 39 days (2026-12-31); migrate to openai-gpt41-us", fleet.Deprecations);
    }

    public void Dispose() => _storage.Dispose();
}
