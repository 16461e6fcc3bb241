using System.Collections.Immutable;
using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Policy;
using ControlPlane.Domain.Quotas;
using ControlPlane.Fleet.Yaml;

namespace ControlPlane.Fleet;

/// <summary>
/// Binds a YAML tree to a <see cref="FleetDefinition"/>, reporting every problem with its position and field path.
/// Endpoints are read first so classes can be checked against the catalog; policy rules are the domain's
/// <see cref="PolicyValidator"/>, whose field names are mapped back to the YAML nodes they came from.
/// </summary>
internal sealed partial class FleetConfigReader
{
    private const int MaxSloWindowDays = 366;

    private readonly ConfigErrorSink _errors;
    private readonly Dictionary<string, EndpointDraft> _endpoints = new(StringComparer.Ordinal);
    private readonly List<EndpointDraft> _endpointOrder = [];
    private readonly Dictionary<string, ScalarNode> _classNames = new(StringComparer.Ordinal);
    private readonly List<WorkloadClassDefinition> _classes = [];

    private FleetConfigReader(ConfigErrorSink errors) => _errors = errors;

    /// <summary>The definition, or null when any error was reported (to <paramref name="errors"/>, including earlier syntax errors).</summary>
    public static FleetDefinition? Bind(ConfigNode? root, ConfigErrorSink errors)
    {
        if (root is null || root is ScalarNode { IsNull: true })
        {
            if (errors.Count == 0)
            {
                errors.Add(new SourcePosition(1, 1), "", "the file is empty; expected a mapping with 'endpoints' and 'classes'");
            }

            return null;
        }

        return new FleetConfigReader(errors).Read(root);
    }

    private FleetDefinition? Read(ConfigNode root)
    {
        var top = MappingReader.Create(root, "", _errors, "fleet", "endpoints", "classes", "alerting", "teams", "regions");
        if (top is null)
        {
            return null;
        }

        (string? name, string? version) = ReadFleet(top);
        ReadAlerting(top);
        if (top.Required("endpoints") is { } endpoints)
        {
            ReadEndpoints(endpoints, top.Child("endpoints"));
        }

        CheckMigrationTargets();
        if (top.Required("classes") is { } classes)
        {
            ReadClasses(classes, top.Child("classes"));
        }

        var alerting = ReadAlertingAndTeams(top);
        var regions = ReadRegions(top);
        CheckEndpointRegions(regions);
        if (_errors.Count > 0)
        {
            return null;
        }

        return new FleetDefinition(
            _errors.Source,
            name,
            version,
            [.. _endpointOrder.Select(e => e.ToEntry())],
            [.. _classes]) { Alerting = alerting, Regions = regions };
    }

    private (string? Name, string? Version) ReadFleet(MappingReader top)
    {
        if (top.Optional("fleet") is not { } node || MappingReader.Create(node, top.Child("fleet"), _errors, "name", "version") is not { } fleet)
        {
            return (null, null);
        }

        string? name = fleet.Optional("name") is { } nameNode && ScalarValues.TryString(nameNode, fleet.Child("name"), _errors, out string n) ? n : null;
        string? version = fleet.Optional("version") is { } versionNode && ScalarValues.TryString(versionNode, fleet.Child("version"), _errors, out string v) ? v : null;
        return (name, version);
    }

    private void ReadEndpoints(ConfigNode node, string path)
    {
        if (ScalarValues.TryList(node, path, _errors) is not { } items)
        {
            return;
        }

        if (items.Count == 0)
        {
            _errors.Add(node, path, "at least one endpoint is required");
        }

        for (int i = 0; i < items.Count; i++)
        {
            ReadEndpoint(items[i], i);
        }
    }

    private void ReadEndpoint(ConfigNode node, int index)
    {
        int errorsBefore = _errors.Count;
        string path = NamedPath(node, "endpoints", index, "id");
        var reader = MappingReader.Create(
            node, path, _errors,
            [
                "id", "provider", "model", "model_version", "region", "context_window", "capabilities",
                "price_per_1k", "limits", "owner_team", "on_call", "deprecation", "baseline", .. ModelPinReader.Keys, "alerts",
            ]);
        if (reader is null)
        {
            return;
        }

        string id = "";
        ScalarNode? idNode = null;
        if (reader.Required("id") is { } idValue && ScalarValues.TryIdentifier(idValue, reader.Child("id"), _errors, out id))
        {
            idNode = (ScalarNode)idValue;
        }

        var descriptor = new EndpointDescriptor
        {
            Id = id,
            Provider = RequiredString(reader, "provider"),
            Model = RequiredString(reader, "model"),
            ModelVersion = RequiredString(reader, "model_version"),
            Region = RequiredString(reader, "region"),
            ContextWindow = ReadContextWindow(reader),
            Capabilities = ReadCapabilities(reader.Optional("capabilities"), reader.Child("capabilities")),
        };
        descriptor = ReadPrices(reader, descriptor);
        descriptor = ReadLimits(reader, descriptor);
        string ownerTeam = RequiredString(reader, "owner_team");
        string onCall = RequiredString(reader, "on_call");
        var (deprecationDate, migrateTo) = ReadDeprecation(reader);
        var baseline = BaselineSeedReader.Read(reader, _errors);
        var (acceptedAlias, onModelChange) = ModelPinReader.Read(reader, descriptor.Model, descriptor.ModelVersion, _errors);
        var alertOverrides = ReadAlertOverrides(reader);

        if (idNode is null)
        {
            return;
        }

        if (_endpoints.TryGetValue(id, out var first))
        {
            _errors.Add(idNode, reader.Child("id"), $"duplicate endpoint id '{id}'; first defined at line {first.IdNode.Position.Line}");
            return;
        }

        var draft = new EndpointDraft(idNode, reader.Path, descriptor, ownerTeam, onCall, deprecationDate, migrateTo)
        {
            HasErrors = _errors.Count > errorsBefore,
            Baseline = baseline,
            AcceptedAlias = acceptedAlias,
            OnModelChange = onModelChange,
            AlertOverrides = alertOverrides,
            Alerts = alertOverrides.Over(_alertDefaults),
            RegionNode = reader.Optional("region"),
        };
        _endpoints.Add(id, draft);
        _endpointOrder.Add(draft);
    }

    private int ReadContextWindow(MappingReader reader)
    {
        if (reader.Required("context_window") is not { } node || !ScalarValues.TryInt32(node, reader.Child("context_window"), _errors, out int window))
        {
            return 0;
        }

        if (window <= 0)
        {
            _errors.Add(node, reader.Child("context_window"), "must be positive");
        }

        return window;
    }

    private Capabilities ReadCapabilities(ConfigNode? node, string path)
    {
        if (node is null || ScalarValues.TryList(node, path, _errors) is not { } items)
        {
            return Capabilities.None;
        }

        var capabilities = Capabilities.None;
        for (int i = 0; i < items.Count; i++)
        {
            string itemPath = $"{path}[{i}]";
            if (!ScalarValues.TryString(items[i], itemPath, _errors, out string name))
            {
                continue;
            }

            if (!CapabilityNames.TryParse(name, out var capability))
            {
                string hint = ConfigVocabulary.Suggest(name, ConfigVocabulary.CapabilityNamesInOrder) is { } s ? $" (did you mean '{s}'?)" : "";
                _errors.Add(items[i], itemPath, $"unknown capability '{name}'{hint}; expected one of {string.Join(", ", ConfigVocabulary.CapabilityNamesInOrder)}");
            }
            else if ((capabilities & capability) != 0)
            {
                _errors.Add(items[i], itemPath, $"capability '{name}' is listed twice");
            }

            capabilities |= capability;
        }

        return capabilities;
    }

    private EndpointDescriptor ReadPrices(MappingReader reader, EndpointDescriptor descriptor)
    {
        if (reader.Required("price_per_1k") is not { } node
            || MappingReader.Create(node, reader.Child("price_per_1k"), _errors, "input", "output") is not { } prices)
        {
            return descriptor;
        }

        return descriptor with
        {
            PricePer1kInput = NonNegativeDecimal(prices, "input"),
            PricePer1kOutput = NonNegativeDecimal(prices, "output"),
        };
    }

    private EndpointDescriptor ReadLimits(MappingReader reader, EndpointDescriptor descriptor)
    {
        if (reader.Optional("limits") is not { } node
            || MappingReader.Create(node, reader.Child("limits"), _errors, "tpm", "rpm") is not { } limits)
        {
            return descriptor;
        }

        return descriptor with
        {
            TokensPerMinute = NonNegativeInteger(limits, "tpm"),
            RequestsPerMinute = NonNegativeInteger(limits, "rpm"),
        };
    }

    private (DateOnly? Date, ScalarNode? MigrateTo) ReadDeprecation(MappingReader reader)
    {
        if (reader.Optional("deprecation") is not { } node
            || MappingReader.Create(node, reader.Child("deprecation"), _errors, "date", "migrate_to") is not { } deprecation)
        {
            return (null, null);
        }

        DateOnly? date = deprecation.Required("date") is { } dateNode
            && ScalarValues.TryDate(dateNode, deprecation.Child("date"), _errors, out var day) ? day : null;
        ScalarNode? target = deprecation.Optional("migrate_to") is { } targetNode
            && ScalarValues.TryString(targetNode, deprecation.Child("migrate_to"), _errors, out _) ? (ScalarNode)targetNode : null;
        return (date, target);
    }

    private void CheckMigrationTargets()
    {
        foreach (var endpoint in _endpointOrder)
        {
            if (endpoint.MigrateTo is not { } target)
            {
                continue;
            }

            string path = endpoint.Path + ".deprecation.migrate_to";
            if (target.Value == endpoint.Descriptor.Id)
            {
                _errors.Add(target, path, "an endpoint cannot migrate to itself");
                endpoint.HasErrors = true;
            }
            else if (!_endpoints.ContainsKey(target.Value))
            {
                _errors.Add(target, path, UnknownEndpoint(target.Value));
                endpoint.HasErrors = true;
            }
        }
    }

    private void ReadClasses(ConfigNode node, string path)
    {
        if (ScalarValues.TryList(node, path, _errors) is not { } items)
        {
            return;
        }

        if (items.Count == 0)
        {
            _errors.Add(node, path, "at least one workload class is required");
        }

        // Endpoints with errors of their own meet every condition here, so a bad capability name is reported once, not again per class.
        var validationCatalog = _endpointOrder.ToDictionary(
            e => e.Descriptor.Id,
            e => e.HasErrors ? e.Descriptor with { ContextWindow = int.MaxValue, Capabilities = (Capabilities)uint.MaxValue } : e.Descriptor,
            StringComparer.Ordinal);
        for (int i = 0; i < items.Count; i++)
        {
            ReadClass(items[i], i, validationCatalog);
        }
    }

    private void ReadClass(ConfigNode node, int index, Dictionary<string, EndpointDescriptor> catalog)
    {
        int errorsBefore = _errors.Count;
        string path = NamedPath(node, "classes", index, "name");
        var reader = MappingReader.Create(
            node, path, _errors,
            "name", "description", "owner", "mode", "priority", "weight", "primary", "fallbacks", "prohibited",
            "conditions", "panic", "budget", "slo", "queue",
            "retry_budget", "regulated", "production", "alerts");
        if (reader is null)
        {
            return;
        }

        var fields = new PolicyFieldMap(reader.Node, reader.Path);
        string name = $"classes[{index}]";
        if (reader.Required("name") is { } nameNode && ScalarValues.TryIdentifier(nameNode, reader.Child("name"), _errors, out string validName))
        {
            name = validName;
            fields.Add("name", nameNode, reader.Child("name"));
            if (!_classNames.TryAdd(name, (ScalarNode)nameNode))
            {
                _errors.Add(nameNode, reader.Child("name"), $"duplicate class name '{name}'; first defined at line {_classNames[name].Position.Line}");
            }
        }

        string owner = RequiredString(reader, "owner");
        string description = reader.Optional("description") is { } descriptionNode
            && ScalarValues.TryString(descriptionNode, reader.Child("description"), _errors, out string d) ? d : "";

        var policy = new WorkloadClassPolicy
        {
            Name = name,
            Mode = ReadMode(reader, fields),
            Priority = ReadPriority(reader),
            Weight = OptionalInt32(reader, "weight", "weight", fields) ?? 1,
            Primary = ReadEndpointIds(reader, "primary", fields),
            Fallbacks = ReadFallbacks(reader, fields),
            Prohibited = ReadEndpointIds(reader, "prohibited", fields),
        };
        policy = ReadConditions(reader, policy, fields);
        policy = ReadPanic(reader, policy, fields);
        policy = ReadBudget(reader, policy, fields);
        var slo = ReadSlo(reader);
        var retryBudget = ReadRetryBudget(reader);
        var queue = QueueLimitsReader.Read(reader, policy.Mode, _errors);
        var regulated = ReadRegulated(reader, _errors);
        var production = ReadProduction(reader, _errors);
        var classAlerts = ReadAlertOverrides(reader).Over(_alertDefaults);

        foreach (var error in PolicyValidator.Validate(policy, catalog))
        {
            var (at, field) = fields.Resolve(error.Field);
            _errors.Add(at, field, ToConfigWording(error.Message));
        }

        if (_errors.Count == errorsBefore && slo is not null)
        {
            _classes.Add(new WorkloadClassDefinition { Policy = policy, Owner = owner, Description = description, Slo = slo, Queue = queue }
                with { RetryBudget = retryBudget, Regulated = regulated, Production = production, Alerts = classAlerts });
        }
    }

    private RoutingMode ReadMode(MappingReader reader, PolicyFieldMap fields)
    {
        if (reader.Required("mode") is not { } node || !ScalarValues.TryString(node, reader.Child("mode"), _errors, out string name))
        {
            return RoutingMode.AutoFallback;
        }

        fields.Add("mode", node, reader.Child("mode"));
        if (RoutingModeNames.TryParse(name, out var mode))
        {
            return mode;
        }

        _errors.Add(node, reader.Child("mode"), $"unknown mode '{name}'; expected one of {string.Join(", ", ConfigVocabulary.RoutingModes)}");
        return RoutingMode.AutoFallback;
    }

    private WorkloadPriority ReadPriority(MappingReader reader)
    {
        if (reader.Optional("priority") is not { } node || !ScalarValues.TryString(node, reader.Child("priority"), _errors, out string name))
        {
            return WorkloadPriority.Standard;
        }

        if (ConfigVocabulary.TryParsePriority(name, out var priority))
        {
            return priority;
        }

        _errors.Add(node, reader.Child("priority"), $"unknown priority '{name}'; expected one of {string.Join(", ", ConfigVocabulary.Priorities)}");
        return WorkloadPriority.Standard;
    }

    private List<string> ReadEndpointIds(MappingReader reader, string key, PolicyFieldMap fields)
    {
        var ids = new List<string>();
        if (reader.Optional(key) is not { } node)
        {
            return ids;
        }

        string path = reader.Child(key);
        fields.Add(key, node, path);
        if (ScalarValues.TryList(node, path, _errors) is not { } items)
        {
            return ids;
        }

        for (int i = 0; i < items.Count; i++)
        {
            string itemPath = $"{path}[{i}]";
            if (!ScalarValues.TryString(items[i], itemPath, _errors, out string id))
            {
                continue;
            }

            fields.Add($"{key}[{ids.Count}]", items[i], itemPath);
            ids.Add(id);

            // The validator resolves primaries and fallbacks against the catalog; prohibited ids are ours to check.
            if (key == "prohibited" && !_endpoints.ContainsKey(id))
            {
                _errors.Add(items[i], itemPath, UnknownEndpoint(id));
            }
        }

        return ids;
    }

    private List<FallbackApproval> ReadFallbacks(MappingReader reader, PolicyFieldMap fields)
    {
        var fallbacks = new List<FallbackApproval>();
        if (reader.Optional("fallbacks") is not { } node)
        {
            return fallbacks;
        }

        string path = reader.Child("fallbacks");
        fields.Add("fallbacks", node, path);
        if (ScalarValues.TryList(node, path, _errors) is not { } items)
        {
            return fallbacks;
        }

        for (int i = 0; i < items.Count; i++)
        {
            string itemPath = $"{path}[{i}]";
            string field = $"fallbacks[{fallbacks.Count}]";

            // A bare id is shorthand for an unscored fallback.
            if (items[i] is ScalarNode)
            {
                if (ScalarValues.TryString(items[i], itemPath, _errors, out string bareId))
                {
                    fields.Add(field, items[i], itemPath);
                    fallbacks.Add(new FallbackApproval { EndpointId = bareId });
                }

                continue;
            }

            if (MappingReader.Create(items[i], itemPath, _errors, "endpoint", "eval_score") is not { } item)
            {
                continue;
            }

            fields.Add(field, items[i], itemPath);
            if (item.Required("endpoint") is not { } endpointNode || !ScalarValues.TryString(endpointNode, item.Child("endpoint"), _errors, out string id))
            {
                continue;
            }

            fields.Add(field + ".endpointId", endpointNode, item.Child("endpoint"));
            double? score = null;
            if (item.Optional("eval_score") is { } scoreNode && ScalarValues.TryDouble(scoreNode, item.Child("eval_score"), _errors, out double s))
            {
                fields.Add(field + ".evalScore", scoreNode, item.Child("eval_score"));
                score = s;
            }

            fallbacks.Add(new FallbackApproval { EndpointId = id, EvalScore = score });
        }

        return fallbacks;
    }

    private WorkloadClassPolicy ReadConditions(MappingReader reader, WorkloadClassPolicy policy, PolicyFieldMap fields)
    {
        if (reader.Optional("conditions") is not { } node
            || MappingReader.Create(node, reader.Child("conditions"), _errors, "min_context_window", "required_capabilities", "quality_gate") is not { } conditions)
        {
            return policy;
        }

        double? gate = null;
        if (conditions.Optional("quality_gate") is { } gateNode && ScalarValues.TryDouble(gateNode, conditions.Child("quality_gate"), _errors, out double g))
        {
            fields.Add("qualityGate", gateNode, conditions.Child("quality_gate"));
            gate = g;
        }

        return policy with
        {
            MinContextWindow = OptionalInt32(conditions, "min_context_window", "minContextWindow", fields) ?? 0,
            RequiredCapabilities = ReadCapabilities(conditions.Optional("required_capabilities"), conditions.Child("required_capabilities")),
            QualityGate = gate,
        };
    }

    private WorkloadClassPolicy ReadPanic(MappingReader reader, WorkloadClassPolicy policy, PolicyFieldMap fields)
    {
        if (reader.Optional("panic") is not { } node
            || MappingReader.Create(node, reader.Child("panic"), _errors, "threshold", "mode") is not { } panic)
        {
            return policy;
        }

        var mode = PanicMode.SpreadOverApproved;
        if (panic.Optional("mode") is { } modeNode && ScalarValues.TryString(modeNode, panic.Child("mode"), _errors, out string name))
        {
            fields.Add("panic", modeNode, panic.Child("mode"));
            if (!ConfigVocabulary.TryParsePanicMode(name, out mode))
            {
                _errors.Add(modeNode, panic.Child("mode"), $"unknown panic mode '{name}'; expected one of {string.Join(", ", ConfigVocabulary.PanicModes)}");
            }
        }

        return policy with
        {
            PanicThreshold = OptionalInt32(panic, "threshold", "panicThreshold", fields) ?? 0,
            Panic = mode,
        };
    }

    private WorkloadClassPolicy ReadBudget(MappingReader reader, WorkloadClassPolicy policy, PolicyFieldMap fields)
    {
        if (reader.Optional("budget") is not { } node
            || MappingReader.Create(node, reader.Child("budget"), _errors, "tokens_per_minute", "requests_per_minute", "usd_per_day", "usd_per_month")
                is not { } budget)
        {
            return policy;
        }

        fields.Add("budget", node, reader.Child("budget"));
        long tokens = OptionalInteger(budget, "tokens_per_minute", "budget.tokensPerPeriod", fields);
        long requests = OptionalInteger(budget, "requests_per_minute", "budget.requestsPerPeriod", fields);
        decimal? day = OptionalDecimal(budget, "usd_per_day", "spend.usdPerDay", fields);
        decimal? month = OptionalDecimal(budget, "usd_per_month", "spend.usdPerMonth", fields);
        return policy with
        {
            Budget = QuotaLimits.PerMinute(tokens, requests),
            Spend = day is null && month is null ? null : new SpendCeiling { UsdPerDay = day ?? 0, UsdPerMonth = month ?? 0 },
        };
    }

    /// <summary>An optional decimal whose range the domain validator checks; recorded so its errors land on this node.</summary>
    private decimal? OptionalDecimal(MappingReader reader, string key, string policyField, PolicyFieldMap fields)
    {
        if (reader.Optional(key) is not { } node || !ScalarValues.TryDecimal(node, reader.Child(key), _errors, out decimal value))
        {
            return null;
        }

        fields.Add(policyField, node, reader.Child(key));
        return value;
    }

    private SloTargets? ReadSlo(MappingReader reader)
    {
        if (reader.Required("slo") is not { } node
            || MappingReader.Create(node, reader.Child("slo"), _errors, "availability", "quality", "latency_p95_ms", "window_days") is not { } slo)
        {
            return null;
        }

        double availability = 0;
        if (slo.Required("availability") is { } availabilityNode)
        {
            availability = Fraction(availabilityNode, slo.Child("availability")) ?? 0;
        }

        double? quality = slo.Optional("quality") is { } qualityNode ? Fraction(qualityNode, slo.Child("quality")) : null;
        TimeSpan? latency = null;
        if (slo.Optional("latency_p95_ms") is { } latencyNode && ScalarValues.TryInteger(latencyNode, slo.Child("latency_p95_ms"), _errors, out long ms))
        {
            if (ms <= 0 || ms > (long)TimeSpan.FromDays(1).TotalMilliseconds)
            {
                _errors.Add(latencyNode, slo.Child("latency_p95_ms"), "must be between 1 ms and one day");
            }
            else
            {
                latency = TimeSpan.FromMilliseconds(ms);
            }
        }

        var window = SloTargets.DefaultWindow;
        if (slo.Optional("window_days") is { } windowNode && ScalarValues.TryInteger(windowNode, slo.Child("window_days"), _errors, out long days))
        {
            if (days is < 1 or > MaxSloWindowDays)
            {
                _errors.Add(windowNode, slo.Child("window_days"), $"must be between 1 and {MaxSloWindowDays} days");
            }
            else
            {
                window = TimeSpan.FromDays(days);
            }
        }

        return new SloTargets { Availability = availability, Quality = quality, LatencyP95 = latency, Window = window };
    }

    /// <summary>An SLO target: strictly between 0 and 1 (1 would leave no error budget at all).</summary>
    private double? Fraction(ConfigNode node, string path)
    {
        if (!ScalarValues.TryDouble(node, path, _errors, out double value))
        {
            return null;
        }

        if (!(value > 0 && value < 1))
        {
            _errors.Add(node, path, $"must be strictly between 0 and 1 (e.g. 0.995), got {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
            return null;
        }

        return value;
    }

    private string RequiredString(MappingReader reader, string key) =>
        reader.Required(key) is { } node && ScalarValues.TryString(node, reader.Child(key), _errors, out string value) ? value : "";

    private decimal NonNegativeDecimal(MappingReader reader, string key)
    {
        if (reader.Required(key) is not { } node || !ScalarValues.TryDecimal(node, reader.Child(key), _errors, out decimal value))
        {
            return 0;
        }

        if (value < 0)
        {
            _errors.Add(node, reader.Child(key), "must not be negative");
            return 0;
        }

        return value;
    }

    private long NonNegativeInteger(MappingReader reader, string key)
    {
        if (reader.Optional(key) is not { } node || !ScalarValues.TryInteger(node, reader.Child(key), _errors, out long value))
        {
            return 0;
        }

        if (value < 0)
        {
            _errors.Add(node, reader.Child(key), "must not be negative (0 means unlimited)");
            return 0;
        }

        return value;
    }

    /// <summary>An optional integer whose range the domain validator checks; recorded so its errors land on this node.</summary>
    private int? OptionalInt32(MappingReader reader, string key, string policyField, PolicyFieldMap fields)
    {
        if (reader.Optional(key) is not { } node || !ScalarValues.TryInt32(node, reader.Child(key), _errors, out int value))
        {
            return null;
        }

        fields.Add(policyField, node, reader.Child(key));
        return value;
    }

    private long OptionalInteger(MappingReader reader, string key, string policyField, PolicyFieldMap fields)
    {
        if (reader.Optional(key) is not { } node || !ScalarValues.TryInteger(node, reader.Child(key), _errors, out long value))
        {
            return 0;
        }

        fields.Add(policyField, node, reader.Child(key));
        return value;
    }

    private string UnknownEndpoint(string id)
    {
        string hint = ConfigVocabulary.Suggest(id, _endpoints.Keys) is { } s ? $"; did you mean '{s}'?" : "";
        return $"unknown endpoint '{id}'{hint}";
    }

    /// <summary>The domain validator's wording, with its field names replaced by the file's.</summary>
    private string ToConfigWording(string message)
    {
        const string NotInCatalog = "' is not in the catalog";
        const string Lacks = "lacks required capabilities: ";
        if (message.StartsWith("endpoint '", StringComparison.Ordinal) && message.EndsWith(NotInCatalog, StringComparison.Ordinal))
        {
            return UnknownEndpoint(message["endpoint '".Length..^NotInCatalog.Length]);
        }

        int lacks = message.IndexOf(Lacks, StringComparison.Ordinal);
        if (lacks >= 0 && Enum.TryParse<Capabilities>(message[(lacks + Lacks.Length)..], out var missing))
        {
            message = message[..(lacks + Lacks.Length)] + ConfigVocabulary.Format(missing);
        }

        return message
            .Replace("minContextWindow", "min_context_window", StringComparison.Ordinal)
            .Replace("].endpointId", "].endpoint", StringComparison.Ordinal);
    }

    /// <summary><c>endpoints.&lt;id&gt;</c> when the item names itself with a valid id, else <c>endpoints[i]</c>.</summary>
    private static string NamedPath(ConfigNode node, string list, int index, string key)
    {
        if (node is MappingNode mapping)
        {
            foreach (var entry in mapping.Entries)
            {
                if (entry.Key.Value == key && entry.Value is ScalarNode { IsNull: false } value && ScalarValues.IsIdentifier(value.Value))
                {
                    return $"{list}.{value.Value}";
                }
            }
        }

        return $"{list}[{index}]";
    }

    private sealed class EndpointDraft(
        ScalarNode idNode,
        string path,
        EndpointDescriptor descriptor,
        string ownerTeam,
        string onCall,
        DateOnly? deprecationDate,
        ScalarNode? migrateTo)
    {
        public ScalarNode IdNode { get; } = idNode;

        public string Path { get; } = path;

        public EndpointDescriptor Descriptor { get; } = descriptor;

        public ScalarNode? MigrateTo { get; } = migrateTo;

        public bool HasErrors { get; set; }

        public Domain.Baselines.BaselineValues? Baseline { get; init; }

        public bool AcceptedAlias { get; init; }

        public ModelChangeAction OnModelChange { get; init; }

        public AlertThresholds AlertOverrides { get; init; } = new();

        public AlertThresholds Alerts { get; init; } = AlertThresholds.Defaults;

        public ConfigNode? RegionNode { get; init; }

        public EndpointCatalogEntry ToEntry() => new()
        {
            Descriptor = Descriptor,
            OwnerTeam = ownerTeam,
            OnCall = onCall,
            Baseline = Baseline,
            AcceptedAlias = AcceptedAlias,
            OnModelChange = OnModelChange,
            Deprecation = deprecationDate is { } date ? new EndpointDeprecation { Date = date, MigrateTo = MigrateTo?.Value } : null,
            AlertOverrides = AlertOverrides,
            Alerts = Alerts,
        };
    }
}
