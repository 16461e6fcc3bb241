using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Policy;
using ControlPlane.Domain.Quotas;

namespace ControlPlane.Fleet.Tests;

/// <summary>deploy/fleet.sample.yaml is what the server loads by default; its shape is part of the product.</summary>
public sealed class FleetSampleTests
{
    internal static readonly string SamplePath = Path.Combine(AppContext.BaseDirectory, "fleet.sample.yaml");

    private readonly FleetDefinition _fleet = FleetLoader.LoadFile(SamplePath);

    [Fact]
    public void Sample_has_at_least_six_pinned_endpoints_at_three_providers_in_two_regions()
    {
        Assert.Equal("acme-prod", _fleet.Name);
        Assert.True(_fleet.Endpoints.Length >= 6);
        Assert.True(_fleet.Endpoints.Select(e => e.Descriptor.Provider).Distinct().Count() >= 3);
        Assert.Contains(_fleet.Endpoints, e => e.Descriptor.Provider == "vllm");
        Assert.True(_fleet.Endpoints.Select(e => e.Descriptor.Region).Distinct().Count() >= 2);
        Assert.All(_fleet.Endpoints, e =>
        {
            Assert.NotEqual("", e.Descriptor.ModelVersion);
            Assert.True(e.Descriptor.PricePer1kInput > 0 && e.Descriptor.PricePer1kOutput > 0, e.Id);
            Assert.True(e.Descriptor.TokensPerMinute > 0 && e.Descriptor.RequestsPerMinute > 0, e.Id);
            Assert.NotEqual("", e.OwnerTeam);
            Assert.NotEqual("", e.OnCall);
        });
        Assert.True(_fleet.TryGetEndpoint("openai-gpt4o-us", out var gpt4o));
        Assert.Equal("openai-gpt41-us", gpt4o.Deprecation?.MigrateTo);
    }

    [Fact]
    public void Sample_has_the_five_classes_of_a_typical_fleet()
    {
        Assert.Equal(
            ["customer_chat", "internal_copilot", "legal_draft", "batch_classification", "browser_agent"],
            _fleet.Classes.Select(c => c.Name));
        Assert.All(_fleet.Classes, c =>
        {
            Assert.NotEqual("", c.Owner);
            Assert.InRange(c.Slo.Availability, 0.9, 0.9999);
            Assert.Empty(PolicyValidator.Validate(c.Policy, _fleet.Catalog));
        });
    }

    [Fact]
    public void Customer_chat_is_interactive_with_approved_fallbacks_and_a_prohibited_endpoint()
    {
        Assert.True(_fleet.TryGetClass("customer_chat", out var chat));
        Assert.Equal(RoutingMode.AutoFallback, chat.Policy.Mode);
        Assert.Equal(WorkloadPriority.Interactive, chat.Policy.Priority);
        Assert.NotEmpty(chat.Policy.Fallbacks);
        Assert.All(chat.Policy.Fallbacks, f => Assert.True(chat.Policy.PassesQualityGate(f), f.EndpointId));
        Assert.Contains("selfhosted-llama-eu", chat.Policy.Prohibited);
        Assert.Equal(0.995, chat.Slo.Availability);
    }

    [Fact]
    public void Legal_draft_queues_and_never_falls_back()
    {
        Assert.True(_fleet.TryGetClass("legal_draft", out var legal));
        Assert.Equal(RoutingMode.QueueOnly, legal.Policy.Mode);
        Assert.Empty(legal.Policy.Fallbacks);
        Assert.All(legal.Policy.Primary, id => Assert.Equal("eu-west", _fleet.Catalog[id].Region));
        Assert.Equal((TimeSpan.FromSeconds(30), 200), (legal.Queue.MaxWait, legal.Queue.MaxDepth));
        // Its policy changes need a compliance approval as well; no other sample class is regulated.
        Assert.True(legal.Regulated);
        Assert.Equal(["legal_draft"], _fleet.Classes.Where(c => c.Regulated).Select(c => c.Name));
    }

    [Fact]
    public void Batch_classification_is_batch_priority_on_a_cheap_model()
    {
        Assert.True(_fleet.TryGetClass("batch_classification", out var batch));
        Assert.Equal(WorkloadPriority.Batch, batch.Policy.Priority);
        decimal primaryPrice = _fleet.Catalog[Assert.Single(batch.Policy.Primary)].PricePer1kInput;
        Assert.Equal(_fleet.Endpoints.Min(e => e.Descriptor.PricePer1kInput), primaryPrice);
    }

    [Fact]
    public void Batch_classification_never_uses_a_large_model()
    {
        Assert.True(_fleet.TryGetClass("batch_classification", out var batch));
        string[] large = ["openai-gpt4o-us", "openai-gpt41-us", "anthropic-sonnet-us", "anthropic-sonnet-eu", "google-gemini-pro-us"];
        Assert.All(large, id => Assert.Contains(id, batch.Policy.Prohibited));
        var approved = batch.Policy.Primary.Concat(batch.Policy.Fallbacks.Select(f => f.EndpointId));
        Assert.All(approved, id => Assert.DoesNotContain(id, large));
    }

    [Fact]
    public void Browser_agent_queues_for_its_primary_rather_than_replaying_on_another_model()
    {
        Assert.True(_fleet.TryGetClass("browser_agent", out var agent));
        Assert.Equal(RoutingMode.QueueOnly, agent.Policy.Mode);
        Assert.Empty(agent.Policy.Fallbacks);
        Assert.Equal((TimeSpan.FromSeconds(15), 50), (agent.Queue.MaxWait, agent.Queue.MaxDepth));
    }

    [Fact]
    public void Browser_agent_needs_tools_and_vision_on_every_approved_endpoint()
    {
        Assert.True(_fleet.TryGetClass("browser_agent", out var agent));
        var needed = Capabilities.Tools | Capabilities.Vision;
        Assert.Equal(needed, agent.Policy.RequiredCapabilities & needed);
        var approved = agent.Policy.Primary.Concat(agent.Policy.Fallbacks.Select(f => f.EndpointId));
        Assert.All(approved, id => Assert.True(agent.Policy.Admits(_fleet.Catalog[id]), id));
        Assert.True(_fleet.TryGetClass("internal_copilot", out _));
    }
}
