using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace ControlPlane.Grpc.Server;

/// <summary>Registers the gRPC server and its services.</summary>
public static class GrpcServerServiceCollectionExtensions
{
    /// <summary>Adds the gRPC server with its options (validated at start-up). Map it with
    /// <see cref="GrpcEndpointRouteBuilderExtensions.MapGrpcServices"/>.</summary>
    public static IServiceCollection AddGrpcServer(this IServiceCollection services, Action<GrpcServerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.AddOptions<GrpcServerOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GrpcServerOptions>, GrpcServerOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<GrpcServerRuntime>();
        services.TryAddSingleton<GrpcServiceRegistry>();
        services.AddRouting();
        return services;
    }

    /// <summary>Hosts a service built from the container (for handlers with dependencies).</summary>
    public static IServiceCollection AddGrpcService(this IServiceCollection services, Func<IServiceProvider, GrpcServiceDefinition> factory)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(factory);
        services.AddSingleton(new GrpcServiceRegistration(factory));
        return services;
    }

    /// <summary>Hosts a ready-made service definition.</summary>
    public static IServiceCollection AddGrpcService(this IServiceCollection services, GrpcServiceDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        return services.AddGrpcService(_ => definition);
    }
}
