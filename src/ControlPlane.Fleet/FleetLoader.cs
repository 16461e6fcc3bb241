using ControlPlane.Fleet.Yaml;

namespace ControlPlane.Fleet;

/// <summary>
/// Loads a fleet configuration file (endpoints and workload classes, see <c>docs/fleet-config.md</c>).
/// All or nothing: returns a fully validated <see cref="FleetDefinition"/> or throws one
/// <see cref="FleetConfigException"/> listing every problem as <c>file:line:column: field.path: message</c>.
/// </summary>
public static class FleetLoader
{
    /// <summary>Loads and validates the file at <paramref name="path"/>; errors name the path as given.</summary>
    /// <exception cref="FleetConfigException">The file cannot be read, is not valid YAML, or does not validate.</exception>
    public static FleetDefinition LoadFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        StreamReader reader;
        try
        {
            reader = new StreamReader(path, detectEncodingFromByteOrderMarks: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            string problem = e is FileNotFoundException or DirectoryNotFoundException
                ? "file not found"
                : "cannot read the file: " + e.Message;
            throw new FleetConfigException([new FleetConfigError(path, 0, 0, "", problem)], e);
        }

        using (reader)
        {
            try
            {
                return Load(reader, path);
            }
            catch (IOException e)
            {
                throw new FleetConfigException([new FleetConfigError(path, 0, 0, "", "cannot read the file: " + e.Message)], e);
            }
        }
    }

    /// <summary>Loads and validates YAML from <paramref name="reader"/>; <paramref name="sourceName"/> names it in errors.</summary>
    /// <exception cref="FleetConfigException">The text is not valid YAML or does not validate.</exception>
    public static FleetDefinition Load(TextReader reader, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentException.ThrowIfNullOrWhiteSpace(sourceName);
        var errors = new ConfigErrorSink(sourceName);
        var root = ConfigDocument.Read(reader, errors);
        var fleet = FleetConfigReader.Bind(root, errors);
        if (fleet is null || errors.Count > 0)
        {
            throw new FleetConfigException(errors.ToList());
        }

        return fleet;
    }
}
