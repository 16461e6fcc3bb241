using ControlPlane.Domain.Endpoints;
using ControlPlane.Domain.Policy;
using ControlPlane.Domain.Quotas;

namespace ControlPlane.Fleet;

/// <summary>The enumerated names a fleet file may use, so errors can list the valid ones.</summary>
internal static class ConfigVocabulary
{
    // Shorter typed names would match too many ids by prefix to be a useful hint.
    private const int MinPrefixLength = 4;

    /// <summary>Capability names in flag order; <see cref="CapabilityNames.TryParse"/> is the authority, a test keeps the two in step.</summary>
    public static readonly IReadOnlyList<string> CapabilityNamesInOrder =
        ["tools", "vision", "json_mode", "streaming", "structured_outputs", "reasoning", "audio"];

    public static readonly IReadOnlyList<string> RoutingModes =
        [.. Enum.GetValues<RoutingMode>().Select(m => m.ToWireName())];

    public static readonly IReadOnlyList<string> PanicModes =
        [.. Enum.GetValues<PanicMode>().Select(m => m.ToWireName())];

    public static readonly IReadOnlyList<string> Priorities = ["interactive", "standard", "batch"];

    public static bool TryParsePanicMode(string name, out PanicMode mode)
    {
        foreach (var candidate in Enum.GetValues<PanicMode>())
        {
            if (candidate.ToWireName() == name)
            {
                mode = candidate;
                return true;
            }
        }

        mode = default;
        return false;
    }

    public static bool TryParsePriority(string name, out WorkloadPriority priority)
    {
        (bool ok, priority) = name switch
        {
            "interactive" => (true, WorkloadPriority.Interactive),
            "standard" => (true, WorkloadPriority.Standard),
            "batch" => (true, WorkloadPriority.Batch),
            _ => (false, WorkloadPriority.Standard),
        };
        return ok;
    }

    /// <summary>Capabilities as config names, e.g. <c>tools, vision</c>.</summary>
    public static string Format(Capabilities capabilities) =>
        string.Join(", ", CapabilityNamesInOrder.Where(n => CapabilityNames.TryParse(n, out var flag) && (capabilities & flag) != 0));

    /// <summary>The closest name within two edits, or one the typed name is a prefix of (a forgotten
    /// <c>-us</c> suffix), for "did you mean" hints.</summary>
    public static string? Suggest(string name, IEnumerable<string> candidates) =>
        candidates
            .Select(c => (Name: c, Distance: EditDistance.Between(name, c)))
            .Where(c => (c.Distance <= EditDistance.SuggestionLimit && c.Distance < name.Length)
                || (name.Length >= MinPrefixLength && c.Name.StartsWith(name, StringComparison.Ordinal)))
            .OrderBy(c => c.Distance)
            .Select(c => c.Name)
            .FirstOrDefault();
}

/// <summary>Levenshtein distance; names are short, so the quadratic table is cheap.</summary>
internal static class EditDistance
{
    /// <summary>Most edits a name may be from a suggestion.</summary>
    public const int SuggestionLimit = 2;

    public static int Between(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(Math.Min(previous[j] + 1, current[j - 1] + 1), substitution);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
