using ControlPlane.Domain.Endpoints;

namespace ControlPlane.Domain.Policy;

/// <summary>One problem in a workload class policy.</summary>
/// <param name="Field">The offending field as it appears in config and admin JSON, e.g. <c>fallbacks[1].endpointId</c>.</param>
/// <param name="Message">What is wrong, for a human.</param>
public sealed record PolicyError(string Field, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{Field}: {Message}";
}

/// <summary>Thrown when a policy is applied that does not validate; carries every error, not just the first.</summary>
public sealed class PolicyValidationException : Exception
{
    /// <summary>Creates the exception from the validation errors.</summary>
    public PolicyValidationException(string className, IReadOnlyList<PolicyError> errors)
        : base($"Workload class '{className}' policy is invalid: " + string.Join("; ", errors))
    {
        Errors = errors;
    }

    /// <summary>Creates an exception with a message only.</summary>
    public PolicyValidationException(string message)
        : base(message)
    {
        Errors = [];
    }

    /// <summary>Creates an exception with a message and inner exception.</summary>
    public PolicyValidationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Errors = [];
    }

    /// <summary>Creates an exception with no details.</summary>
    public PolicyValidationException()
    {
        Errors = [];
    }

    /// <summary>Every problem found.</summary>
    public IReadOnlyList<PolicyError> Errors { get; }
}

/// <summary>Validates workload class policies, naming the field of every problem.</summary>
public static class PolicyValidator
{
    private const int MaxWeight = 10_000;

    /// <summary>Every problem with <paramref name="policy"/>; empty when valid. With a
    /// <paramref name="catalog"/>, also checks that endpoints exist and meet the class's conditions.</summary>
    public static IReadOnlyList<PolicyError> Validate(
        WorkloadClassPolicy policy,
        IReadOnlyDictionary<string, EndpointDescriptor>? catalog = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        var errors = new List<PolicyError>();
        if (string.IsNullOrWhiteSpace(policy.Name))
        {
            errors.Add(new("name", "must not be empty"));
        }

        if (!Enum.IsDefined(policy.Mode))
        {
            errors.Add(new("mode", $"unknown mode {(int)policy.Mode}"));
        }

        if (!Enum.IsDefined(policy.Panic))
        {
            errors.Add(new("panic", $"unknown panic mode {(int)policy.Panic}"));
        }

        if (policy.MinContextWindow < 0)
        {
            errors.Add(new("minContextWindow", "must not be negative"));
        }

        if (policy.QualityGate is { } gate && !(gate >= 0 && gate <= 1))
        {
            errors.Add(new("qualityGate", "must be between 0 and 1"));
        }

        if (policy.PanicThreshold < 0)
        {
            errors.Add(new("panicThreshold", "must not be negative"));
        }

        if (policy.Weight is < 1 or > MaxWeight)
        {
            errors.Add(new("weight", $"must be between 1 and {MaxWeight}"));
        }

        if (policy.Budget is { } budget && !budget.TryValidate(out string budgetField, out string budgetMessage))
        {
            errors.Add(new("budget." + budgetField, budgetMessage));
        }

        if (policy.Spend is { } spend && !spend.TryValidate(out string spendField, out string spendMessage))
        {
            errors.Add(new(spendField, spendMessage));
        }

        var prohibited = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < policy.Prohibited.Count; i++)
        {
            string id = policy.Prohibited[i];
            if (string.IsNullOrWhiteSpace(id))
            {
                errors.Add(new($"prohibited[{i}]", "must not be empty"));
            }
            else if (!prohibited.Add(id))
            {
                errors.Add(new($"prohibited[{i}]", $"endpoint '{id}' is listed twice"));
            }
        }

        if (policy.Primary.Count == 0)
        {
            errors.Add(new("primary", "at least one primary endpoint is required"));
        }

        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < policy.Primary.Count; i++)
        {
            CheckEndpoint(policy, catalog, $"primary[{i}]", policy.Primary[i], prohibited, seen, errors);
        }

        if (policy.Mode is RoutingMode.QueueOnly or RoutingMode.Fail && policy.Fallbacks.Count > 0)
        {
            errors.Add(new("fallbacks", $"must be empty when mode is {policy.Mode.ToWireName()}: the class never falls back"));
        }

        if (policy.Primary.Count + policy.Fallbacks.Count > WorkloadClassPolicy.MaxApprovedEndpoints)
        {
            errors.Add(new("fallbacks", $"a class may list at most {WorkloadClassPolicy.MaxApprovedEndpoints} primary and fallback endpoints in total"));
        }

        for (int i = 0; i < policy.Fallbacks.Count; i++)
        {
            var fallback = policy.Fallbacks[i];
            if (fallback is null)
            {
                errors.Add(new($"fallbacks[{i}]", "must not be null"));
                continue;
            }

            CheckEndpoint(policy, catalog, $"fallbacks[{i}].endpointId", fallback.EndpointId, prohibited, seen, errors);
            if (fallback.EvalScore is { } score && !(score >= 0 && score <= 1))
            {
                errors.Add(new($"fallbacks[{i}].evalScore", "must be between 0 and 1"));
            }
        }

        return errors;
    }

    /// <summary>Throws <see cref="PolicyValidationException"/> listing every problem, if there is any.</summary>
    public static void ThrowIfInvalid(WorkloadClassPolicy policy, IReadOnlyDictionary<string, EndpointDescriptor>? catalog = null)
    {
        var errors = Validate(policy, catalog);
        if (errors.Count > 0)
        {
            throw new PolicyValidationException(policy.Name, errors);
        }
    }

    private static void CheckEndpoint(
        WorkloadClassPolicy policy,
        IReadOnlyDictionary<string, EndpointDescriptor>? catalog,
        string field,
        string? id,
        HashSet<string> prohibited,
        Dictionary<string, string> seen,
        List<PolicyError> errors)
    {
        if (string.IsNullOrWhiteSpace(id))
        {
            errors.Add(new(field, "must not be empty"));
            return;
        }

        if (prohibited.Contains(id))
        {
            errors.Add(new(field, $"endpoint '{id}' is prohibited for this class"));
        }

        if (!seen.TryAdd(id, field))
        {
            errors.Add(new(field, $"endpoint '{id}' is already listed as {seen[id]}"));
        }

        if (catalog is null)
        {
            return;
        }

        if (!catalog.TryGetValue(id, out var endpoint))
        {
            errors.Add(new(field, $"endpoint '{id}' is not in the catalog"));
            return;
        }

        if (endpoint.ContextWindow < policy.MinContextWindow)
        {
            errors.Add(new(field, $"endpoint '{id}' has a {endpoint.ContextWindow}-token context window, below minContextWindow {policy.MinContextWindow}"));
        }

        var missing = policy.RequiredCapabilities & ~endpoint.Capabilities;
        if (missing != Capabilities.None)
        {
            errors.Add(new(field, $"endpoint '{id}' lacks required capabilities: {missing}"));
        }
    }
}
