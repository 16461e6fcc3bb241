namespace ControlPlane.Grains;

/// <summary>Marks a grain interface method that does not change grain state: its turns may interleave with other
/// read-only turns (never with ordinary turns).</summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class ReadOnlyAttribute : Attribute;

/// <summary>Marks a grain interface method whose turns may interleave with any turn (use for methods that only
/// read thread-safe data or that must not wait behind a long turn).</summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
public sealed class AlwaysInterleaveAttribute : Attribute;

/// <summary>Names a grain class's type: the first part of its <see cref="GrainId"/> and its storage namespace.
/// Name grains explicitly so that renaming a class does not orphan persisted state.</summary>
/// <param name="name">The stable grain type name.</param>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class GrainTypeAttribute(string name) : Attribute
{
    /// <summary>The stable grain type name.</summary>
    public string Name { get; } = name;
}
