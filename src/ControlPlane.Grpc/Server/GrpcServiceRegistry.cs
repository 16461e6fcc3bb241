namespace ControlPlane.Grpc.Server;

/// <summary>A service definition registered with <see cref="GrpcServerServiceCollectionExtensions.AddGrpcService(Microsoft.Extensions.DependencyInjection.IServiceCollection, Func{IServiceProvider, GrpcServiceDefinition})"/>.</summary>
internal sealed class GrpcServiceRegistration(Func<IServiceProvider, GrpcServiceDefinition> factory)
{
    public Func<IServiceProvider, GrpcServiceDefinition> Factory { get; } = factory;
}

/// <summary>The services this server hosts, built once from the registrations.</summary>
internal sealed class GrpcServiceRegistry
{
    private readonly Lazy<IReadOnlyList<GrpcServiceDefinition>> _services;

    public GrpcServiceRegistry(IEnumerable<GrpcServiceRegistration> registrations, IServiceProvider services)
    {
        _services = new Lazy<IReadOnlyList<GrpcServiceDefinition>>(() => Build(registrations, services));
    }

    public IReadOnlyList<GrpcServiceDefinition> Services => _services.Value;

    private static List<GrpcServiceDefinition> Build(IEnumerable<GrpcServiceRegistration> registrations, IServiceProvider services)
    {
        var list = new List<GrpcServiceDefinition>();
        foreach (var registration in registrations)
        {
            var definition = registration.Factory(services);
            if (list.Exists(d => d.ServiceName == definition.ServiceName))
            {
                throw new InvalidOperationException($"gRPC service '{definition.ServiceName}' is registered twice.");
            }

            list.Add(definition);
        }

        return list;
    }
}
