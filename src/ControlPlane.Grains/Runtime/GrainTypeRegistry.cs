using System.Collections.Concurrent;
using ControlPlane.Grains.Proxies;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Grains.Runtime;

/// <summary>A registered grain class: its type name and how to construct it (constructor injection).</summary>
internal sealed class GrainClassInfo(string typeName, Type classType)
{
    private readonly ObjectFactory _factory = ActivatorUtilities.CreateFactory(classType, []);

    public string TypeName { get; } = typeName;

    public Type ClassType { get; } = classType;

    public Grain Create(IServiceProvider services) => (Grain)_factory(services, null);
}

/// <summary>Grain interfaces, their classes and their methods. Filled while the silo is built, read-only after.</summary>
internal sealed class GrainTypeRegistry
{
    private readonly Dictionary<Type, GrainClassInfo> _byInterface = [];
    private readonly Dictionary<string, GrainClassInfo> _byTypeName = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Type, GrainInterfaceMap> _maps = new();
    private readonly ConcurrentDictionary<string, GrainMethodDescriptor> _methodsById = new(StringComparer.Ordinal);

    public void AddGrain(Type interfaceType, Type grainClass)
    {
        if (!typeof(IGrainWithStringKey).IsAssignableFrom(interfaceType) || !interfaceType.IsInterface)
        {
            throw new ArgumentException($"{interfaceType.FullName} must be an interface deriving from IGrainWithStringKey.", nameof(interfaceType));
        }

        if (!typeof(Grain).IsAssignableFrom(grainClass) || grainClass.IsAbstract || !interfaceType.IsAssignableFrom(grainClass))
        {
            throw new ArgumentException($"{grainClass.FullName} must be a concrete Grain implementing {interfaceType.Name}.", nameof(grainClass));
        }

        var typeName = (grainClass.GetCustomAttributes(typeof(GrainTypeAttribute), inherit: false).FirstOrDefault() as GrainTypeAttribute)?.Name
            ?? grainClass.FullName!;
        if (typeName.StartsWith('$'))
        {
            throw new ArgumentException($"Grain type names starting with '$' are reserved ({typeName}).", nameof(grainClass));
        }

        if (!_byTypeName.TryGetValue(typeName, out var info))
        {
            info = new GrainClassInfo(typeName, grainClass);
            _byTypeName.Add(typeName, info);
        }
        else if (info.ClassType != grainClass)
        {
            throw new ArgumentException($"Grain type name '{typeName}' is used by both {info.ClassType.FullName} and {grainClass.FullName}.", nameof(grainClass));
        }

        if (_byInterface.TryGetValue(interfaceType, out var existing) && existing.ClassType != grainClass)
        {
            throw new ArgumentException($"{interfaceType.Name} is already implemented by registered grain {existing.ClassType.FullName}.", nameof(interfaceType));
        }

        _byInterface[interfaceType] = info;
        MapOf(interfaceType);
    }

    public void AddObserverInterface(Type observerInterface)
    {
        if (!typeof(IGrainObserver).IsAssignableFrom(observerInterface) || !observerInterface.IsInterface)
        {
            throw new ArgumentException($"{observerInterface.FullName} must be an interface deriving from IGrainObserver.", nameof(observerInterface));
        }

        MapOf(observerInterface);
    }

    public GrainClassInfo ForInterface(Type interfaceType) =>
        _byInterface.TryGetValue(interfaceType, out var info) ? info : throw new GrainTypeNotRegisteredException($"interface {interfaceType.FullName}");

    public bool TryGetByTypeName(string typeName, out GrainClassInfo info) => _byTypeName.TryGetValue(typeName, out info!);

    public GrainMethodDescriptor? FindMethod(string methodId) => _methodsById.GetValueOrDefault(methodId);

    public GrainInterfaceMap MapOf(Type interfaceType)
    {
        if (_maps.TryGetValue(interfaceType, out var map))
        {
            return map;
        }

        map = _maps.GetOrAdd(interfaceType, static t => new GrainInterfaceMap(t));
        foreach (var method in map.Methods)
        {
            _methodsById.TryAdd(method.Id, method);
        }

        return map;
    }
}
