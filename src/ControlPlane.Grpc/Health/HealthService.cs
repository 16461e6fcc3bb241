using ControlPlane.Grpc.Server;
using Grpc.Health.V1;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace ControlPlane.Grpc.Health;

/// <summary><c>grpc.health.v1.Health</c> (grpc/doc/health-checking.md) over a <see cref="HealthStatusRegistry"/>.</summary>
internal sealed class HealthService(HealthStatusRegistry registry)
{
    public const string ServiceName = "grpc.health.v1.Health";

    public GrpcServiceDefinition CreateDefinition() =>
        GrpcServiceDefinition.CreateBuilder(ServiceName, HealthReflection.Descriptor)
            .AddUnary<HealthCheckRequest, HealthCheckResponse>("Check", CheckAsync)
            .AddServerStreaming<HealthCheckRequest, HealthCheckResponse>("Watch", WatchAsync)
            .Build();

    public Task<HealthCheckResponse> CheckAsync(HealthCheckRequest request, ServerCallContext context)
    {
        if (!registry.TryGetStatus(request.Service, out var status))
        {
            throw new RpcException(StatusCode.NotFound, $"Unknown service '{request.Service}'.");
        }

        return Task.FromResult(new HealthCheckResponse { Status = status });
    }

    /// <summary>Sends the current status (SERVICE_UNKNOWN if unknown), then every change; on server
    /// shutdown, after NOT_SERVING, ends with UNAVAILABLE so clients reconnect elsewhere.</summary>
    public async Task WatchAsync(HealthCheckRequest request, IServerStreamWriter<HealthCheckResponse> responses, ServerCallContext context)
    {
        using var watch = registry.Watch(request.Service);
        var token = context.CancellationToken;
        var last = (ServingStatus)(-1);
        while (await watch.Updates.WaitToReadAsync(token).ConfigureAwait(false))
        {
            while (watch.Updates.TryRead(out var status))
            {
                if (status != last)
                {
                    last = status;
                    await responses.WriteAsync(new HealthCheckResponse { Status = status }, token).ConfigureAwait(false);
                }
            }
        }

        throw new RpcException(StatusCode.Unavailable, "Server is shutting down.");
    }
}
