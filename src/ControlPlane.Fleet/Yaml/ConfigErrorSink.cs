namespace ControlPlane.Fleet.Yaml;

/// <summary>Collects every error of one file so they are reported together.</summary>
internal sealed class ConfigErrorSink(string source)
{
    private readonly List<FleetConfigError> _errors = [];

    public string Source { get; } = source;

    public int Count => _errors.Count;

    public void Add(SourcePosition position, string field, string message) =>
        _errors.Add(new FleetConfigError(Source, position.Line, position.Column, field, message));

    public void Add(ConfigNode node, string field, string message) => Add(node.Position, field, message);

    /// <summary>The errors in file order (stable for errors at one position).</summary>
    public IReadOnlyList<FleetConfigError> ToList() =>
        [.. _errors.OrderBy(e => e.Line).ThenBy(e => e.Column)];
}
