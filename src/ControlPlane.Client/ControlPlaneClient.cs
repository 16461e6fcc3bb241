using ControlPlane.Contracts.V1;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Net.Client.Configuration;

namespace ControlPlane.Client;

/// <summary>Typed client of the data-plane API (<c>controlplane.v1.Routing</c>) on Grpc.Net.Client. Thread-safe; one per
/// node address. Every call carries a deadline; failures surface as <see cref="RpcException"/> with the status.</summary>
public sealed class ControlPlaneClient : IDisposable
{
    private readonly GrpcChannel? _ownedChannel;
    private readonly Routing.RoutingClient _client;
    private readonly ControlPlaneClientOptions _options;

    /// <summary>A client of the node at <paramref name="address"/> (e.g. <c>http://127.0.0.1:50051</c>, h2c) on its own
    /// channel, made by <see cref="CreateChannel"/>.</summary>
    public ControlPlaneClient(Uri address, ControlPlaneClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        _options = (options ?? new ControlPlaneClientOptions()).Validate();
        _ownedChannel = CreateChannel(address, _options);
        _client = new Routing.RoutingClient(_ownedChannel);
    }

    /// <summary>A client over an existing channel (not disposed by this client). Retries are the channel's: make it with
    /// <see cref="CreateChannel"/> to get the Route retry policy; <paramref name="options"/> gives the deadlines.</summary>
    public ControlPlaneClient(GrpcChannel channel, ControlPlaneClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(channel);
        _options = (options ?? new ControlPlaneClientOptions()).Validate();
        _client = new Routing.RoutingClient(channel);
    }

    /// <summary>A channel tuned for a control-plane node: several HTTP/2 connections (past Kestrel's 100 streams per
    /// connection), pooled connections never idle out, keep-alive pings while calls are in flight, a short connect
    /// timeout, and a service config that retries <c>Route</c> (only it, only on UNAVAILABLE).</summary>
    public static GrpcChannel CreateChannel(Uri address, ControlPlaneClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        options = (options ?? new ControlPlaneClientOptions()).Validate();
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            KeepAlivePingDelay = options.KeepAlivePingDelay,
            KeepAlivePingTimeout = options.KeepAlivePingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            ConnectTimeout = options.ConnectTimeout,
        };
        return GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = options.ApiKey is { } key ? new BearerHandler($"Bearer {key}") { InnerHandler = handler } : handler,
            DisposeHttpClient = true,
            ServiceConfig = RouteRetryConfig(options),
        });
    }

    /// <summary>Asks where a request should go, under <see cref="ControlPlaneClientOptions.RouteTimeout"/>.</summary>
    /// <exception cref="RpcException">NOT_FOUND for an unknown class, INVALID_ARGUMENT naming a bad field,
    /// DEADLINE_EXCEEDED, UNAVAILABLE once the retries are spent.</exception>
    public Task<RouteDecision> RouteAsync(RouteRequest request, CancellationToken cancellationToken = default) =>
        RouteAsync(request, DeadlineAfter(_options.RouteTimeout), cancellationToken);

    /// <summary>Asks where a request should go; the call and its retries end by <paramref name="deadline"/> (UTC), which
    /// the node sees as the call's deadline.</summary>
    /// <exception cref="RpcException">As <see cref="RouteAsync(RouteRequest, CancellationToken)"/>.</exception>
    public Task<RouteDecision> RouteAsync(RouteRequest request, DateTime deadline, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        return _client.RouteAsync(request, deadline: deadline, cancellationToken: cancellationToken).ResponseAsync;
    }

    /// <summary>Reports one attempt's outcome (never retried: the node would count it twice).</summary>
    /// <exception cref="RpcException">The call failed; the outcome may or may not have been counted.</exception>
    public Task<OutcomeAck> ReportAsync(Outcome outcome, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        return _client.ReportOutcomeAsync(outcome, deadline: DeadlineAfter(_options.ReportTimeout), cancellationToken: cancellationToken).ResponseAsync;
    }

    /// <summary>Reports a batch on one client stream (never retried); the ack counts accepted and rejected outcomes.</summary>
    /// <exception cref="RpcException">The stream failed; part of the batch may have been counted.</exception>
    public async Task<OutcomeAck> ReportBatchAsync(IReadOnlyList<Outcome> outcomes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(outcomes);
        using var call = _client.ReportOutcomes(deadline: DeadlineAfter(_options.ReportTimeout), cancellationToken: cancellationToken);
        try
        {
            foreach (var outcome in outcomes)
            {
                await call.RequestStream.WriteAsync(outcome, cancellationToken).ConfigureAwait(false);
            }

            await call.RequestStream.CompleteAsync().ConfigureAwait(false);
        }
        catch (InvalidOperationException) when (call.ResponseAsync.IsCompletedSuccessfully)
        {
            // The node answered before reading the whole stream; its ack says what it took. (A failed call throws
            // RpcException with its status from the write, and that propagates.)
        }

        return await call.ResponseAsync.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Dispose() => _ownedChannel?.Dispose();

    // Grpc.Net.Client measures deadlines on the system clock, so they are computed on it too.
    private static DateTime DeadlineAfter(TimeSpan timeout) => DateTime.UtcNow + timeout;

    private static ServiceConfig? RouteRetryConfig(ControlPlaneClientOptions options)
    {
        if (options.RouteMaxAttempts <= 1)
        {
            return null;
        }

        var route = new MethodConfig
        {
            Names = { new MethodName { Service = Routing.Descriptor.FullName, Method = "Route" } },
            RetryPolicy = new RetryPolicy
            {
                MaxAttempts = options.RouteMaxAttempts,
                InitialBackoff = options.RouteInitialBackoff,
                MaxBackoff = options.RouteMaxBackoff,
                BackoffMultiplier = 1.5,
                RetryableStatusCodes = { StatusCode.Unavailable },
            },
        };
        return new ServiceConfig { MethodConfigs = { route } };
    }

    // Adds the credential to every call (a header on the HTTP/2 request, as gRPC metadata travels).
    private sealed class BearerHandler(string authorization) : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (!request.Headers.Contains("authorization"))
            {
                request.Headers.TryAddWithoutValidation("authorization", authorization);
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
