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

        return YamlBooleans.Read(node, reader.Child("regulated"), errors);
    }
}
