using System.Reflection;
using ControlPlane.Grains.Runtime;

namespace ControlPlane.Grains.Proxies;

/// <summary>The base of runtime-generated grain and observer references. DispatchProxy generates the interface
/// implementation; each call is a dictionary lookup and a compiled invoker, never MethodInfo.Invoke.</summary>
#pragma warning disable CA1852 // DispatchProxy derives from this type at run time, so it cannot be sealed.
internal class GrainProxy : DispatchProxy, IGrainReference
#pragma warning restore CA1852
{
    private GrainRuntime _runtime = null!;
    private GrainInterfaceMap _map = null!;

    public GrainId GrainId { get; private set; }

    public Type InterfaceType => _map.InterfaceType;

    public static object Create(GrainRuntime runtime, GrainInterfaceMap map, GrainId grainId)
    {
        var proxy = (GrainProxy)DispatchProxy.Create(map.InterfaceType, typeof(GrainProxy));
        proxy._runtime = runtime;
        proxy._map = map;
        proxy.GrainId = grainId;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
        _map[targetMethod!].InvokeFromProxy(_runtime, GrainId, args ?? []);

    public override bool Equals(object? obj) => obj is IGrainReference other && other.GrainId == GrainId;

    public override int GetHashCode() => GrainId.GetHashCode();

    public override string ToString() => $"{_map.InterfaceType.Name}({GrainId})";
}
