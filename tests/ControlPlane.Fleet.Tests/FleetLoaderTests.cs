using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Policy;
using ControlPlane.Domain.Quotas;
using static ControlPlane.Fleet.Tests.FleetYaml;

namespace ControlPlane.Fleet.Tests;

public sealed class FleetLoaderTests
{
    [Fact]
    public void Base_file_maps_every_field()
    {
        var fleet = Load(Base);

        Assert.Equal("test", fleet.Name);
        Assert.Equal("3", fleet.Version);
        Assert.Equal(Source, fleet.SourceName);
        Assert.Equal(["ep-a", "ep-b"], fleet.Endpoints.Select(e => e.Id));

        Assert.True(fleet.TryGetEndpoint("ep-a", out var a));
        Assert.Equal(
            new EndpointDescriptor
            {
                Id = "ep-a",
                Provider = "openai",
                Model = "gpt-4o",
                ModelVersion = "gpt-4o-2024-08-06",
                Region = "us-east",
                ContextWindow = 128_000,
                Capabilities = Capabilities.Tools | Capabilities.Vision,
                PricePer1kInput = 0.0025m,
                PricePer1kOutput = 0.01m,
                TokensPerMinute = 2_000_000,
                RequestsPerMinute = 5_000,
            },
            a.Descriptor);
        Assert.Equal("platform-ai", a.OwnerTeam);
        Assert.Equal("#ai-oncall", a.OnCall);
        Assert.Equal(new EndpointDeprecation { Date = new DateOnly(2026, 12, 31), MigrateTo = "ep-b" }, a.Deprecation);
        Assert.True(a.IsDeprecatedOn(new DateOnly(2026, 12, 31)));
        Assert.False(a.IsDeprecatedOn(new DateOnly(2026, 12, 30)));

        Assert.True(fleet.TryGetEndpoint("ep-b", out var b));
        Assert.Null(b.Deprecation);
        Assert.Equal(0, b.Descriptor.TokensPerMinute);
        Assert.Same(b.Descriptor, fleet.Catalog["ep-b"]);

        Assert.True(fleet.TryGetClass("chat", out var chat));
        var policy = chat.Policy;
        Assert.Equal(RoutingMode.AutoFallback, policy.Mode);
        Assert.Equal(WorkloadPriority.Interactive, policy.Priority);
        Assert.Equal(4, policy.Weight);
        Assert.Equal(["ep-a"], policy.Primary);
        Assert.Equal([new FallbackApproval { EndpointId = "ep-b", EvalScore = 0.93 }], policy.Fallbacks);
        Assert.Empty(policy.Prohibited);
        Assert.Equal(32_000, policy.MinContextWindow);
        Assert.Equal(Capabilities.Tools, policy.RequiredCapabilities);
        Assert.Equal(0.9, policy.QualityGate);
        Assert.Equal(1, policy.PanicThreshold);
        Assert.Equal(PanicMode.Fail, policy.Panic);
        Assert.Equal(QuotaLimits.PerMinute(500_000, 2_000), policy.Budget);
        Assert.Equal("support-eng", chat.Owner);
        Assert.Equal(
            new SloTargets { Availability = 0.995, Quality = 0.95, LatencyP95 = TimeSpan.FromSeconds(4), Window = TimeSpan.FromDays(30) },
            chat.Slo);
        Assert.Equal(0.005, chat.Slo.ErrorBudget, 12);

        Assert.True(fleet.TryGetClass("legal", out var legal));
        Assert.Equal(RoutingMode.QueueOnly, legal.Policy.Mode);
        Assert.Equal(WorkloadPriority.Standard, legal.Policy.Priority);
        Assert.Equal(1, legal.Policy.Weight);
        Assert.Equal(["ep-a"], legal.Policy.Prohibited);
        Assert.Null(legal.Policy.Budget);
        Assert.Equal("", legal.Description);
        Assert.Equal(new SloTargets { Availability = 0.99 }, legal.Slo);
        Assert.Equal(SloTargets.DefaultWindow, legal.Slo.Window);

        Assert.Equal(fleet.Classes.Select(c => c.Policy), fleet.Policies);
        Assert.Equal(fleet.Endpoints.Select(e => e.Descriptor), fleet.Descriptors);
    }

    [Fact]
    public void Optional_forms_load_bare_fallback_ids_anchors_digit_groups_and_description()
    {
        var fleet = Load(With(
            (11, "    limits: { tpm: 2_000_000, rpm: 5_000 }"),
            (32, "    fallbacks: [ep-b]"),
            (36, "    slo: &standard { availability: 0.99, window_days: 7 }"),
            (38, "    owner: legal-tech\n    description: \"Contract drafting: no fallback\""),
            (42, "    slo: *standard")));

        Assert.True(fleet.TryGetEndpoint("ep-a", out var a));
        Assert.Equal(2_000_000, a.Descriptor.TokensPerMinute);
        Assert.True(fleet.TryGetClass("chat", out var chat));
        Assert.Equal([new FallbackApproval { EndpointId = "ep-b" }], chat.Policy.Fallbacks);
        Assert.Equal(TimeSpan.FromDays(7), chat.Slo.Window);
        Assert.True(fleet.TryGetClass("legal", out var legal));
        Assert.Equal(chat.Slo, legal.Slo);
        Assert.Equal("Contract drafting: no fallback", legal.Description);
    }

    [Fact]
    public void Unknown_key_is_named_with_a_suggestion_when_one_is_close()
    {
        var errors = Errors(With((13, "    on_cal: \"#ai-oncall\""), (29, "    colour: blue")));

        Assert.Equal(
            [
                "test.yaml:3:5: endpoints.ep-a.on_call: is required",
                "test.yaml:13:5: endpoints.ep-a.on_cal: unknown key; did you mean 'on_call'?",
                "test.yaml:29:5: classes.chat.colour: unknown key; expected one of name, description, owner, mode, priority, weight, primary, fallbacks, prohibited, conditions, panic, budget, slo, queue, retry_budget, regulated, production, alerts",
            ],
            errors.Select(e => e.ToString()));
    }

    [Fact]
    public void Wrong_types_are_errors_and_quoted_numbers_are_strings()
    {
        string contextWindow = "    context_window: \"128000\"";
        string capabilities = "    capabilities: tools";
        string weight = "    weight: [4]";
        var errors = Errors(With((8, contextWindow), (9, capabilities), (30, weight)));

        Assert.Equal(
            [
                $"test.yaml:8:{Col(contextWindow, "\"")}: endpoints.ep-a.context_window: expected an integer, got the string '128000'",
                $"test.yaml:9:{Col(capabilities, "tools")}: endpoints.ep-a.capabilities: expected a list, got 'tools'",
                $"test.yaml:30:{Col(weight, "[")}: classes.chat.weight: expected an integer, got a list",
            ],
            errors.Select(e => e.ToString()));
    }

    [Fact]
    public void Missing_required_fields_are_reported_at_their_mapping()
    {
        var errors = Errors(With((5, ""), (22, ""), (27, "")));

        Assert.Equal(
            [
                "test.yaml:3:5: endpoints.ep-a.model: is required",
                "test.yaml:15:5: endpoints.ep-b.price_per_1k: is required",
                "test.yaml:26:5: classes.chat.owner: is required",
            ],
            errors.Select(e => e.ToString()));
    }

    [Fact]
    public void Explicit_null_counts_as_missing_and_is_reported_where_it_is_written()
    {
        var errors = Errors(With((4, "    provider: ~")));

        Assert.Equal("test.yaml:4:15: endpoints.ep-a.provider: is required", Assert.Single(errors).ToString());
    }

    [Fact]
    public void Missing_primary_list_is_reported_at_the_class()
    {
        var errors = Errors(With((40, "")));

        Assert.Equal("test.yaml:37:5: classes.legal.primary: at least one primary endpoint is required", Assert.Single(errors).ToString());
    }

    [Fact]
    public void Duplicate_endpoint_ids_and_class_names_name_the_first_definition()
    {
        var errors = Errors(With((15, "  - id: ep-a"), (37, "  - name: chat")));

        Assert.Contains("test.yaml:15:9: endpoints.ep-a.id: duplicate endpoint id 'ep-a'; first defined at line 3", errors.Select(e => e.ToString()));
        Assert.Contains("test.yaml:37:11: classes.chat.name: duplicate class name 'chat'; first defined at line 26", errors.Select(e => e.ToString()));
    }

    [Fact]
    public void Duplicate_keys_are_errors()
    {
        var errors = Errors(With((5, "    model: gpt-4o\n    model: gpt-4.1")));

        Assert.Equal("test.yaml:6:5: endpoints.ep-a.model: duplicate key; first given at line 5", Assert.Single(errors).ToString());
    }

    [Fact]
    public void References_to_unknown_endpoints_are_errors_in_primary_fallbacks_and_prohibited()
    {
        string primary = "    primary: [ep-a, ep-c]";
        string fallbacks = "    fallbacks: [{ endpoint: ep-bb, eval_score: 0.93 }]";
        string prohibited = "    prohibited: [nowhere]";
        var errors = Errors(With((31, primary), (32, fallbacks), (41, prohibited)));

        Assert.Equal(
            [
                $"test.yaml:31:{Col(primary, "ep-c")}: classes.chat.primary[1]: unknown endpoint 'ep-c'; did you mean 'ep-a'?",
                $"test.yaml:32:{Col(fallbacks, "ep-bb")}: classes.chat.fallbacks[0].endpoint: unknown endpoint 'ep-bb'; did you mean 'ep-b'?",
                $"test.yaml:41:{Col(prohibited, "nowhere")}: classes.legal.prohibited[0]: unknown endpoint 'nowhere'",
            ],
            errors.Select(e => e.ToString()));
    }

    [Fact]
    public void A_prohibited_endpoint_that_is_also_approved_is_an_error()
    {
        string primary = "    primary: [ep-b]";
        string prohibited = "    prohibited: [ep-a, ep-b]";
        var errors = Errors(With((41, prohibited), (40, primary)));

        Assert.Equal($"test.yaml:40:{Col(primary, "ep-b")}: classes.legal.primary[0]: endpoint 'ep-b' is prohibited for this class", Assert.Single(errors).ToString());
    }

    [Fact]
    public void Migration_target_must_be_another_endpoint_of_the_fleet()
    {
        string unknown = "    deprecation: { date: 2026-12-31, migrate_to: ep-z }";
        var errors = Errors(With((14, unknown)));
        Assert.Equal($"test.yaml:14:{Col(unknown, "ep-z")}: endpoints.ep-a.deprecation.migrate_to: unknown endpoint 'ep-z'; did you mean 'ep-a'?", Assert.Single(errors).ToString());

        string self = "    deprecation: { date: 2026-12-31, migrate_to: ep-a }";
        errors = Errors(With((14, self)));
        Assert.Equal($"test.yaml:14:{Col(self, "ep-a")}: endpoints.ep-a.deprecation.migrate_to: an endpoint cannot migrate to itself", Assert.Single(errors).ToString());
    }

    [Theory]
    [InlineData("2026-02-30")]
    [InlineData("31/12/2026")]
    [InlineData("soon")]
    public void Deprecation_date_must_be_a_date(string date)
    {
        string line = $"    deprecation: {{ date: {date}, migrate_to: ep-b }}";
        var errors = Errors(With((14, line)));

        Assert.Equal($"test.yaml:14:{Col(line, date)}: endpoints.ep-a.deprecation.date: expected a date as YYYY-MM-DD, got '{date}'", Assert.Single(errors).ToString());
    }

    [Fact]
    public void Negative_limits_and_prices_are_errors()
    {
        string prices = "    price_per_1k: { input: -0.0025, output: 0.01 }";
        string limits = "    limits: { tpm: 2000000, rpm: -1 }";
        string budget = "    budget: { tokens_per_minute: -5, requests_per_minute: 2000 }";
        var errors = Errors(With((10, prices), (11, limits), (35, budget)));

        Assert.Equal(
            [
                $"test.yaml:10:{Col(prices, "-0.0025")}: endpoints.ep-a.price_per_1k.input: must not be negative",
                $"test.yaml:11:{Col(limits, "-1")}: endpoints.ep-a.limits.rpm: must not be negative (0 means unlimited)",
                $"test.yaml:35:{Col(budget, "-5")}: classes.chat.budget.tokens_per_minute: must not be negative",
            ],
            errors.Select(e => e.ToString()));
    }

    [Fact]
    public void Unknown_capability_lists_the_valid_names()
    {
        string line = "    capabilities: [tools, vison, telepathy]";
        var errors = Errors(With((9, line)));

        const string valid = "expected one of tools, vision, json_mode, streaming, structured_outputs, reasoning, audio";
        Assert.Equal(
            [
                $"test.yaml:9:{Col(line, "vison")}: endpoints.ep-a.capabilities[1]: unknown capability 'vison' (did you mean 'vision'?); {valid}",
                $"test.yaml:9:{Col(line, "telepathy")}: endpoints.ep-a.capabilities[2]: unknown capability 'telepathy'; {valid}",
            ],
            errors.Select(e => e.ToString()));
    }

    [Fact]
    public void Unknown_mode_priority_and_panic_mode_list_the_valid_names()
    {
        string panic = "    panic: { threshold: 1, mode: spread }";
        var errors = Errors(With((39, "    mode: queue"), (29, "    priority: urgent"), (34, panic)));

        Assert.Equal(
            [
                "test.yaml:29:15: classes.chat.priority: unknown priority 'urgent'; expected one of interactive, standard, batch",
                $"test.yaml:34:{Col(panic, "spread")}: classes.chat.panic.mode: unknown panic mode 'spread'; expected one of spread_over_approved, fail",
                "test.yaml:39:11: classes.legal.mode: unknown mode 'queue'; expected one of auto_fallback, queue_only, fail",
            ],
            errors.Select(e => e.ToString()));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("1")]
    [InlineData("1.5")]
    [InlineData("-0.1")]
    public void Slo_targets_must_be_strictly_between_0_and_1(string target)
    {
        string availability = $"    slo: {{ availability: {target} }}";
        string quality = $"    slo: {{ availability: 0.995, quality: {target}, latency_p95_ms: 4000 }}";
        var errors = Errors(With((42, availability), (36, quality)));

        Assert.Equal(
            [
                $"test.yaml:36:{Col(quality, target + ",")}: classes.chat.slo.quality: must be strictly between 0 and 1 (e.g. 0.995), got {target}",
                $"test.yaml:42:{Col(availability, target)}: classes.legal.slo.availability: must be strictly between 0 and 1 (e.g. 0.995), got {target}",
            ],
            errors.Select(e => e.ToString()));
    }

    [Fact]
    public void Slo_latency_and_window_are_range_checked_and_availability_is_required()
    {
        string chat = "    slo: { availability: 0.995, latency_p95_ms: 0, window_days: 400 }";
        var errors = Errors(With((36, chat), (42, "    slo: { quality: 0.9 }")));

        Assert.Equal(
            [
                $"test.yaml:36:{Col(chat, "0,")}: classes.chat.slo.latency_p95_ms: must be between 1 ms and one day",
                $"test.yaml:36:{Col(chat, "400")}: classes.chat.slo.window_days: must be between 1 and 366 days",
                $"test.yaml:42:{Col("    slo: { quality: 0.9 }", "{")}: classes.legal.slo.availability: is required",
            ],
            errors.Select(e => e.ToString()));
    }

    [Fact]
    public void Policy_validator_errors_are_reported_at_the_yaml_node_they_came_from()
    {
        string conditions = "    conditions: { min_context_window: 150000, required_capabilities: [tools, streaming], quality_gate: 1.5 }";
        string fallbacks = "    fallbacks: [{ endpoint: ep-b, eval_score: 1.2 }]";
        var errors = Errors(With(
            (30, "    weight: 0"),
            (32, fallbacks),
            (33, conditions),
            (34, "    panic: { threshold: -1, mode: fail }"),
            (41, "    prohibited: [ep-a]\n    fallbacks: [ep-a]")));

        Assert.Equal(
            [
                "test.yaml:30:13: classes.chat.weight: must be between 1 and 10000",
                $"test.yaml:31:{Col("    primary: [ep-a]", "ep-a")}: classes.chat.primary[0]: endpoint 'ep-a' has a 128000-token context window, below min_context_window 150000",
                $"test.yaml:31:{Col("    primary: [ep-a]", "ep-a")}: classes.chat.primary[0]: endpoint 'ep-a' lacks required capabilities: streaming",
                $"test.yaml:32:{Col(fallbacks, "1.2")}: classes.chat.fallbacks[0].eval_score: must be between 0 and 1",
                $"test.yaml:33:{Col(conditions, "1.5")}: classes.chat.conditions.quality_gate: must be between 0 and 1",
                $"test.yaml:34:{Col("    panic: { threshold: -1, mode: fail }", "-1")}: classes.chat.panic.threshold: must not be negative",
                "test.yaml:42:16: classes.legal.fallbacks: must be empty when mode is queue_only: the class never falls back",
                "test.yaml:42:17: classes.legal.fallbacks[0]: endpoint 'ep-a' is prohibited for this class",
            ],
            errors.Select(e => e.ToString()));
    }

    [Fact]
    public void An_endpoint_with_its_own_errors_is_not_blamed_again_by_the_classes_that_use_it()
    {
        // ep-a's typo would also make it "lack" vision for a class requiring vision; one error, not two.
        var errors = Errors(With(
            (9, "    capabilities: [tools, vison]"),
            (33, "    conditions: { min_context_window: 32000, required_capabilities: [tools, vision], quality_gate: 0.9 }")));

        Assert.Equal("endpoints.ep-a.capabilities[1]", Assert.Single(errors).Field);
    }

    [Fact]
    public void Every_error_in_the_file_is_reported_together_in_file_order()
    {
        var e = Assert.Throws<FleetConfigException>(() => Load(With(
            (39, "    mode: queue"),
            (4, "    provider: [openai]"),
            (1, "fleet: { name: test, verison: 3 }"),
            (31, "    primary: [ep-x]"))));

        Assert.Equal(
            [
                "fleet.verison",
                "endpoints.ep-a.provider",
                "classes.chat.primary[0]",
                "classes.legal.mode",
            ],
            e.Errors.Select(x => x.Field));
        Assert.Equal([1, 4, 31, 39], e.Errors.Select(x => x.Line));
        Assert.StartsWith("Fleet configuration test.yaml is invalid (4 errors):", e.Message, StringComparison.Ordinal);
        foreach (var error in e.Errors)
        {
            Assert.Contains("  " + error, e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Invalid_identifiers_are_rejected()
    {
        string line = "  - id: \"ep a\"";
        var errors = Errors(With((3, line), (14, "    deprecation: { date: 2026-12-31 }")));

        Assert.Equal(
            $"test.yaml:3:{Col(line, "\"")}: endpoints[0].id: 'ep a' is not a valid identifier: use letters, digits, '.', '_' and '-' (at most 128), starting with a letter or digit",
            Assert.Single(errors, e => e.Line == 3).ToString());
    }

    [Fact]
    public void Empty_lists_of_endpoints_or_classes_are_errors()
    {
        var errors = Errors("endpoints: []\nclasses: []\n");

        Assert.Equal(
            [
                "test.yaml:1:12: endpoints: at least one endpoint is required",
                "test.yaml:2:10: classes: at least one workload class is required",
            ],
            errors.Select(e => e.ToString()));
    }
}
