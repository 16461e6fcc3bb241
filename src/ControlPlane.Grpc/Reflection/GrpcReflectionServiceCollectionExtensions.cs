using ControlPlane.Grpc.Server;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Grpc.Reflection;

/// <summary>Registers server reflection.</summary>
public static class GrpcReflectionServiceCollectionExtensions
{
    /// <summary>Serves <c>grpc.reflection.v1.ServerReflection</c> and <c>grpc.reflection.v1alpha.ServerReflection</c>,
    /// describing every hosted service from the file descriptors its definition carries.</summary>
    public static IServiceCollection AddGrpcReflection(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton(sp =>
        {
            // Built on first use: the registry lists this very service, so it cannot be read eagerly.
            var registry = sp.GetRequiredService<GrpcServiceRegistry>();
            var index = new Lazy<ReflectionIndex>(() => new ReflectionIndex(
                registry.Services.Select(s => s.ServiceName),
                registry.Services.SelectMany(s => s.FileDescriptors)));
            return new ReflectionService(() => index.Value);
        });
        services.AddGrpcService(sp => sp.GetRequiredService<ReflectionService>().CreateV1Definition());
        services.AddGrpcService(sp => sp.GetRequiredService<ReflectionService>().CreateV1AlphaDefinition());
        return services;
    }
}
