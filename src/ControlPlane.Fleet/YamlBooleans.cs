using ControlPlane.Fleet.Yaml;

namespace ControlPlane.Fleet;

/// <summary>Fleet-file booleans: YAML core-schema <c>true</c>/<c>false</c> (any of their three spellings), plain scalars
/// only (a quoted "true" is a string and an error).</summary>
internal static class YamlBooleans
{
    /// <summary>The boolean <paramref name="node"/> holds; otherwise an error at <paramref name="path"/> and false.</summary>
    public static bool Read(ConfigNode node, string path, ConfigErrorSink errors)
    {
        if (node is ScalarNode { IsPlain: true } scalar)
        {
            switch (scalar.Value)
            {
                case "true" or "True" or "TRUE":
                    return true;
                case "false" or "False" or "FALSE":
                    return false;
            }
        }

        errors.Add(node, path, $"expected true or false, got {node.Describe()}");
        return false;
    }
}
