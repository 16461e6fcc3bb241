using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Policy;
using ControlPlane.Domain.Quotas;

namespace ControlPlane.Domain.Tests.Policy;

public sealed class PolicyValidatorTests
{
    private static readonly WorkloadClassPolicy Valid = new()
    {
        Name = "support-chat",
        Primary = ["openai-gpt4o-us", "azure-gpt4o-us"],
        Fallbacks = [new FallbackApproval { EndpointId = "anthropic-sonnet-us", EvalScore = 0.93 }],
        Prohibited = ["selfhosted-llama-eu"],
        RequiredCapabilities = Capabilities.Tools,
        MinContextWindow = 32_000,
        QualityGate = 0.9,
    };

    private static readonly Dictionary<string, EndpointDescriptor> Catalog = new()
    {
        ["openai-gpt4o-us"] = Endpoint("openai-gpt4o-us", 128_000, Capabilities.Tools | Capabilities.Vision),
        ["azure-gpt4o-us"] = Endpoint("azure-gpt4o-us", 128_000, Capabilities.Tools),
        ["anthropic-sonnet-us"] = Endpoint("anthropic-sonnet-us", 200_000, Capabilities.Tools),
        ["selfhosted-llama-eu"] = Endpoint("selfhosted-llama-eu", 8_000, Capabilities.None),
    };

    private static EndpointDescriptor Endpoint(string id, int context, Capabilities caps) =>
        new() { Id = id, Provider = id.Split('-')[0], Model = "m", ContextWindow = context, Capabilities = caps };

    private static PolicyError Single(WorkloadClassPolicy policy, IReadOnlyDictionary<string, EndpointDescriptor>? catalog = null)
    {
        var errors = PolicyValidator.Validate(policy, catalog);
        return Assert.Single(errors);
    }

    [Fact]
    public void A_valid_policy_has_no_errors_with_or_without_a_catalog()
    {
        Assert.Empty(PolicyValidator.Validate(Valid));
        Assert.Empty(PolicyValidator.Validate(Valid, Catalog));
        PolicyValidator.ThrowIfInvalid(Valid, Catalog);
    }

    [Fact]
    public void A_prohibited_primary_is_an_error_naming_the_field()
    {
        var error = Single(Valid with { Primary = ["openai-gpt4o-us", "selfhosted-llama-eu"] });

        Assert.Equal("primary[1]", error.Field);
        Assert.Contains("prohibited", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_prohibited_fallback_is_an_error_naming_the_field()
    {
        var error = Single(Valid with { Fallbacks = [new FallbackApproval { EndpointId = "selfhosted-llama-eu" }] });

        Assert.Equal("fallbacks[0].endpointId", error.Field);
        Assert.Contains("prohibited", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void No_primary_is_an_error()
    {
        Assert.Equal("primary", Single(Valid with { Primary = [] }).Field);
    }

    [Fact]
    public void An_endpoint_listed_twice_is_an_error()
    {
        var error = Single(Valid with { Fallbacks = [new FallbackApproval { EndpointId = "azure-gpt4o-us" }] });

        Assert.Equal("fallbacks[0].endpointId", error.Field);
        Assert.Contains("already listed as primary[1]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Queue_only_and_fail_classes_cannot_list_fallbacks()
    {
        var error = Single(Valid with { Mode = RoutingMode.QueueOnly });
        Assert.Equal("fallbacks", error.Field);
        Assert.Contains("queue_only", error.Message, StringComparison.Ordinal);

        Assert.Equal("fallbacks", Single(Valid with { Mode = RoutingMode.Fail }).Field);
        Assert.Empty(PolicyValidator.Validate(Valid with { Mode = RoutingMode.QueueOnly, Fallbacks = [] }));
    }

    [Theory]
    [InlineData("name")]
    [InlineData("minContextWindow")]
    [InlineData("qualityGate")]
    [InlineData("panicThreshold")]
    [InlineData("weight")]
    [InlineData("fallbacks[0].evalScore")]
    [InlineData("prohibited[1]")]
    [InlineData("budget.tokensPerPeriod")]
    [InlineData("mode")]
    public void Each_scalar_rule_names_its_field(string field)
    {
        var policy = field switch
        {
            "name" => Valid with { Name = " " },
            "minContextWindow" => Valid with { MinContextWindow = -1 },
            "qualityGate" => Valid with { QualityGate = 1.5 },
            "panicThreshold" => Valid with { PanicThreshold = -2 },
            "weight" => Valid with { Weight = 0 },
            "fallbacks[0].evalScore" => Valid with { Fallbacks = [new FallbackApproval { EndpointId = "anthropic-sonnet-us", EvalScore = double.NaN }] },
            "prohibited[1]" => Valid with { Prohibited = ["selfhosted-llama-eu", "selfhosted-llama-eu"] },
            "budget.tokensPerPeriod" => Valid with { Budget = new QuotaLimits { TokensPerPeriod = -5 } },
            "mode" => Valid with { Mode = (RoutingMode)9 },
            _ => throw new ArgumentOutOfRangeException(nameof(field)),
        };

        Assert.Equal(field, Single(policy).Field);
    }

    [Fact]
    public void Too_many_approved_endpoints_is_an_error()
    {
        var many = Enumerable.Range(0, WorkloadClassPolicy.MaxApprovedEndpoints).Select(i => new FallbackApproval { EndpointId = $"e{i}" }).ToList();

        Assert.Equal("fallbacks", Single(Valid with { Fallbacks = many }).Field);
    }

    [Fact]
    public void With_a_catalog_unknown_endpoints_are_errors()
    {
        var error = Single(Valid with { Primary = ["openai-gpt4o-us", "nope"] }, Catalog);

        Assert.Equal("primary[1]", error.Field);
        Assert.Contains("not in the catalog", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void With_a_catalog_endpoints_must_meet_the_class_conditions()
    {
        var errors = PolicyValidator.Validate(Valid with { RequiredCapabilities = Capabilities.Tools | Capabilities.Vision, MinContextWindow = 150_000 }, Catalog);

        Assert.Contains(errors, e => e.Field == "primary[0]" && e.Message.Contains("context window", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Field == "primary[1]" && e.Message.Contains("lacks required capabilities: Vision", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Field == "fallbacks[0].endpointId" && e.Message.Contains("Vision", StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.Field == "fallbacks[0].endpointId" && e.Message.Contains("context window", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_error_is_reported_not_just_the_first()
    {
        var policy = Valid with { Name = "", Weight = 0, Primary = ["selfhosted-llama-eu"] };

        var e = Assert.Throws<PolicyValidationException>(() => PolicyValidator.ThrowIfInvalid(policy));

        Assert.Equal(["name", "weight", "primary[0]"], e.Errors.Select(x => x.Field));
        Assert.Contains("primary[0]: endpoint 'selfhosted-llama-eu' is prohibited", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_quality_gate_admits_only_fallbacks_scored_at_or_above_it()
    {
        Assert.True(Valid.PassesQualityGate(new FallbackApproval { EndpointId = "x", EvalScore = 0.9 }));
        Assert.False(Valid.PassesQualityGate(new FallbackApproval { EndpointId = "x", EvalScore = 0.89 }));
        Assert.False(Valid.PassesQualityGate(new FallbackApproval { EndpointId = "x" }));
        Assert.True((Valid with { QualityGate = null }).PassesQualityGate(new FallbackApproval { EndpointId = "x" }));
    }

    [Theory]
    [InlineData(RoutingMode.AutoFallback, "auto_fallback")]
    [InlineData(RoutingMode.QueueOnly, "queue_only")]
    [InlineData(RoutingMode.Fail, "fail")]
    public void Modes_have_stable_wire_names(RoutingMode mode, string name)
    {
        Assert.Equal(name, mode.ToWireName());
        Assert.True(RoutingModeNames.TryParse(name, out var parsed));
        Assert.Equal(mode, parsed);
        Assert.False(RoutingModeNames.TryParse("auto-fallback", out _));
    }
}
