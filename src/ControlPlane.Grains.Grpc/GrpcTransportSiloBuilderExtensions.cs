using ControlPlane.Grains.Placement;
using ControlPlane.Grains.Transport;
using ControlPlane.Grpc.Server;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace ControlPlane.Grains.Grpc;

/// <summary>Cluster calls over gRPC: <c>silo.UseGrpcTransport(sp => addresses)</c>.</summary>
public static class GrpcTransportSiloBuilderExtensions
{
    /// <summary>Sends calls for grains on other silos over gRPC and serves <c>controlplane.internal.v1.GrainTransport</c>
    /// for calls from them. The host must run our gRPC server (<c>AddGrpcServer</c> + <c>UseGrpcServices</c> on a
    /// Kestrel HTTP/2 endpoint) on the address <paramref name="addresses"/> announces for this silo.</summary>
    /// <param name="builder">The silo builder (from <c>AddGrainSilo</c>, so the service lands in the host's gRPC server).</param>
    /// <param name="addresses">Maps silo ids to their gRPC addresses (cluster membership).</param>
    /// <param name="configure">Adjusts the transport options.</param>
    public static GrainSiloBuilder UseGrpcTransport(
        this GrainSiloBuilder builder, Func<IServiceProvider, ISiloAddressResolver> addresses, Action<GrpcGrainTransportOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(addresses);
        var services = builder.Services;
        var options = services.AddOptions<GrpcGrainTransportOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }

        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GrpcGrainTransportOptions>, GrpcGrainTransportOptionsValidator>());
        services.TryAddSingleton(sp => new GrainCallCodec(
            sp.GetRequiredService<IOptions<GrpcGrainTransportOptions>>().Value.SerializerOptions,
            () => sp.GetRequiredService<IGrainCallDispatcher>()));
        // The runtime depends on the transport and the transport on the runtime (redirects to this silo): resolve lazily.
        services.TryAddSingleton(sp => new GrpcGrainCallTransport(
            sp.GetRequiredService<IOptions<GrpcGrainTransportOptions>>().Value,
            sp.GetRequiredService<IOptions<GrainRuntimeOptions>>().Value,
            addresses(sp),
            sp.GetRequiredService<GrainCallCodec>(),
            () => sp.GetRequiredService<IGrainDirectory>(),
            () => sp.GetRequiredService<IGrainCallDispatcher>(),
            sp.GetRequiredService<TimeProvider>(),
            // In a cluster the membership names this silo (a rejoin takes a new id); else the configured id.
            () => sp.GetService<IClusterMembership>()?.LocalSiloId ?? sp.GetRequiredService<IOptions<GrainRuntimeOptions>>().Value.SiloId));
        services.TryAddSingleton(sp => new GrainTransportService(
            () => sp.GetRequiredService<IGrainCallDispatcher>(),
            sp.GetRequiredService<GrainCallCodec>(),
            sp.GetRequiredService<IOptions<GrainRuntimeOptions>>().Value.SiloId));
        services.AddGrpcService(sp => sp.GetRequiredService<GrainTransportService>().CreateDefinition());
        return builder.UseCallTransport(sp => sp.GetRequiredService<GrpcGrainCallTransport>());
    }
}
