namespace ControlPlane.Grains;

/// <summary>The identity of a virtual actor: its grain type name and its key. Stable across restarts and nodes.</summary>
/// <param name="Type">The grain type name (see <see cref="GrainTypeAttribute"/>); also the storage namespace.</param>
/// <param name="Key">The key the grain was addressed by.</param>
public readonly record struct GrainId(string Type, string Key)
{
    /// <summary>The type name used for observer references created with <see cref="IGrainFactory.CreateObserverReference{TObserver}"/>.</summary>
    public const string ObserverType = "$observer";

    /// <summary>True when this id names an observer reference rather than a grain.</summary>
    public bool IsObserver => string.Equals(Type, ObserverType, StringComparison.Ordinal);

    /// <inheritdoc />
    public override string ToString() => $"{Type}/{Key}";
}
