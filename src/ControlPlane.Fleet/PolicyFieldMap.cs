using ControlPlane.Fleet.Yaml;

namespace ControlPlane.Fleet;

/// <summary>
/// Where each <see cref="Domain.Policy.WorkloadClassPolicy"/> field of one class came from, so a
/// <see cref="Domain.Policy.PolicyError"/> (<c>fallbacks[1].endpointId</c>) is reported at its YAML node and path
/// (<c>classes.customer_chat.fallbacks[1].endpoint</c>).
/// </summary>
internal sealed class PolicyFieldMap(ConfigNode classNode, string classPath)
{
    private readonly Dictionary<string, (ConfigNode Node, string Path)> _fields = new(StringComparer.Ordinal);

    public void Add(string policyField, ConfigNode node, string path) => _fields[policyField] = (node, path);

    /// <summary>The node and path of <paramref name="policyField"/>, or of its nearest recorded parent, or of the class.</summary>
    public (ConfigNode Node, string Path) Resolve(string policyField)
    {
        for (string field = policyField; field.Length > 0; field = Parent(field))
        {
            if (_fields.TryGetValue(field, out var found))
            {
                return found;
            }
        }

        // Not in the file at all (a missing primary list): the class itself, with the key it should have had.
        return (classNode, $"{classPath}.{ToSnakeCase(policyField)}");
    }

    private static string Parent(string field)
    {
        int cut = field.LastIndexOfAny(['.', '[']);
        return cut < 0 ? "" : field[..cut];
    }

    private static string ToSnakeCase(string field) =>
        string.Concat(field.Select((c, i) => char.IsUpper(c) && i > 0 ? "_" + char.ToLowerInvariant(c) : c.ToString()));
}
