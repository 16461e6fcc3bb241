using ControlPlane.Fleet.Yaml;

namespace ControlPlane.Fleet;

internal sealed partial class FleetConfigReader
{
    // `regulated: true|false` (YAML core booleans, plain only): a regulated class's policy changes also need a
    // compliance approval. Absent: false.
    private static bool ReadRegulated(MappingReader reader, ConfigErrorSink errors)
    {
        if (reader.Optional("regulated") is not { } node)
        {
            return false;
        }

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

        errors.Add(node, reader.Child("regulated"), $"expected true or false, got {node.Describe()}");
        return false;
    }
}
