using System.Globalization;
using System.Text.RegularExpressions;

namespace ControlPlane.Fleet.Yaml;

/// <summary>Strict conversions of scalar nodes: numbers must be plain (a quoted "100" is a string), names must not be empty.</summary>
internal static partial class ScalarValues
{
    public static bool TryString(ConfigNode node, string path, ConfigErrorSink errors, out string value)
    {
        value = "";
        if (node is not ScalarNode scalar)
        {
            errors.Add(node, path, $"expected a string, got {node.Describe()}");
            return false;
        }

        if (scalar.IsNull || string.IsNullOrWhiteSpace(scalar.Value))
        {
            errors.Add(node, path, "must not be empty");
            return false;
        }

        value = scalar.Value;
        return true;
    }

    /// <summary>An identifier (endpoint id, class name): letters, digits, '.', '_' and '-', starting with a letter or digit.</summary>
    public static bool TryIdentifier(ConfigNode node, string path, ConfigErrorSink errors, out string value)
    {
        if (!TryString(node, path, errors, out value))
        {
            return false;
        }

        if (!IdentifierPattern().IsMatch(value))
        {
            errors.Add(node, path, $"'{value}' is not a valid identifier: use letters, digits, '.', '_' and '-' (at most 128), starting with a letter or digit");
            return false;
        }

        return true;
    }

    public static bool IsIdentifier(string value) => IdentifierPattern().IsMatch(value);

    public static bool TryInteger(ConfigNode node, string path, ConfigErrorSink errors, out long value)
    {
        value = 0;
        if (node is not ScalarNode { IsPlain: true } scalar || !IntegerPattern().IsMatch(scalar.Value))
        {
            errors.Add(node, path, $"expected an integer, got {node.Describe()}");
            return false;
        }

        if (!long.TryParse(scalar.Value.Replace("_", "", StringComparison.Ordinal), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value))
        {
            errors.Add(node, path, "integer is too large");
            return false;
        }

        return true;
    }

    /// <summary>An integer that must fit <see cref="int"/> (weights, context windows).</summary>
    public static bool TryInt32(ConfigNode node, string path, ConfigErrorSink errors, out int value)
    {
        value = 0;
        if (!TryInteger(node, path, errors, out long wide))
        {
            return false;
        }

        if (wide is < int.MinValue or > int.MaxValue)
        {
            errors.Add(node, path, $"must be between {int.MinValue} and {int.MaxValue}");
            return false;
        }

        value = (int)wide;
        return true;
    }

    public static bool TryDecimal(ConfigNode node, string path, ConfigErrorSink errors, out decimal value)
    {
        value = 0;
        if (node is not ScalarNode { IsPlain: true } scalar || !NumberPattern().IsMatch(scalar.Value))
        {
            errors.Add(node, path, $"expected a number, got {node.Describe()}");
            return false;
        }

        if (!decimal.TryParse(scalar.Value.Replace("_", "", StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture, out value))
        {
            errors.Add(node, path, "number is out of range");
            return false;
        }

        return true;
    }

    public static bool TryDouble(ConfigNode node, string path, ConfigErrorSink errors, out double value)
    {
        value = 0;
        if (node is not ScalarNode { IsPlain: true } scalar || !NumberPattern().IsMatch(scalar.Value)
            || !double.TryParse(scalar.Value.Replace("_", "", StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture, out value)
            || !double.IsFinite(value))
        {
            errors.Add(node, path, $"expected a number, got {node.Describe()}");
            return false;
        }

        return true;
    }

    /// <summary>A calendar date as <c>YYYY-MM-DD</c>, quoted or not (YAML's core schema has no date type).</summary>
    public static bool TryDate(ConfigNode node, string path, ConfigErrorSink errors, out DateOnly value)
    {
        value = default;
        if (node is not ScalarNode { IsNull: false } scalar
            || !DateOnly.TryParseExact(scalar.Value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out value))
        {
            errors.Add(node, path, $"expected a date as YYYY-MM-DD, got {node.Describe()}");
            return false;
        }

        return true;
    }

    /// <summary>The items of a list node, or null with an error when the node is not a list.</summary>
    public static IReadOnlyList<ConfigNode>? TryList(ConfigNode node, string path, ConfigErrorSink errors)
    {
        if (node is SequenceNode sequence)
        {
            return sequence.Items;
        }

        errors.Add(node, path, $"expected a list, got {node.Describe()}");
        return null;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex IdentifierPattern();

    // Digits may be grouped with '_' for readability (2_000_000), as YAML 1.1 allowed.
    [GeneratedRegex("^[-+]?[0-9](_?[0-9])*$", RegexOptions.CultureInvariant)]
    private static partial Regex IntegerPattern();

    [GeneratedRegex("^[-+]?([0-9](_?[0-9])*)?(\\.[0-9](_?[0-9])*)?([eE][-+]?[0-9]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex NumberPattern();
}
