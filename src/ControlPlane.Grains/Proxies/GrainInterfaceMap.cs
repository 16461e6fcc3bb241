using System.Collections.Frozen;
using System.Reflection;

namespace ControlPlane.Grains.Proxies;

/// <summary>The methods of one grain or observer interface (including inherited interfaces), built once per interface.</summary>
internal sealed class GrainInterfaceMap
{
    private readonly FrozenDictionary<MethodInfo, GrainMethodDescriptor> _methods;

    public GrainInterfaceMap(Type interfaceType)
    {
        if (!interfaceType.IsInterface)
        {
            throw new ArgumentException($"{interfaceType.FullName} is not an interface.", nameof(interfaceType));
        }

        InterfaceType = interfaceType;
        var all = new Dictionary<MethodInfo, GrainMethodDescriptor>();
        foreach (var type in interfaceType.GetInterfaces().Append(interfaceType))
        {
            foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance))
            {
                all[method] = GrainMethodDescriptor.Create(type, method);
            }
        }

        _methods = all.ToFrozenDictionary();
    }

    public Type InterfaceType { get; }

    public IEnumerable<GrainMethodDescriptor> Methods => _methods.Values;

    public GrainMethodDescriptor this[MethodInfo method] => _methods.TryGetValue(method, out var m)
        ? m
        : throw new InvalidOperationException($"{method.Name} is not a method of grain interface {InterfaceType.Name}.");
}
