using System.Collections.Concurrent;
using System.Net.Http.Headers;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;

namespace ControlPlane.Service.Federation;

/// <summary>
/// One gRPC channel per peer region (created on first use, disposed with the host), each carrying this region's
/// federation credential as a bearer token on every call. Used by the change-feed readers, the outcome forwarder and
/// the override forwarder (and the quota part's region leases).
/// </summary>
public sealed class FederationChannels : IDisposable
{
    private readonly FederationOptions _options;
    private readonly ConcurrentDictionary<string, Lazy<GrpcChannel>> _channels = new(StringComparer.Ordinal);
    private bool _disposed;

    /// <summary>Channels for the configured peers.</summary>
    public FederationChannels(IOptions<FederationOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
    }

    /// <summary>The peer regions this cluster can reach, by name.</summary>
    public IEnumerable<string> Peers => _options.Peers.Keys;

    /// <summary>The channel to <paramref name="region"/>'s Federation service; throws <see cref="ArgumentException"/> for a
    /// region with no peer URL.</summary>
    public GrpcChannel For(string region)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (!_options.Peers.TryGetValue(region, out var url))
        {
            throw new ArgumentException($"No federation peer URL for region '{region}'.", nameof(region));
        }

        return _channels.GetOrAdd(region, _ => new Lazy<GrpcChannel>(() => Create(url))).Value;
    }

    /// <summary>Disposes every channel created.</summary>
    public void Dispose()
    {
        _disposed = true;
        foreach (var channel in _channels.Values)
        {
            if (channel.IsValueCreated)
            {
                channel.Value.Dispose();
            }
        }

        _channels.Clear();
    }

    private GrpcChannel Create(Uri url)
    {
        var credential = _options.Credential;
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            KeepAlivePingDelay = TimeSpan.FromSeconds(10),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
            ConnectTimeout = TimeSpan.FromSeconds(5),
        };
        var options = new GrpcChannelOptions
        {
            // The credential goes on every request as a bearer header, TLS or not (a private network or a mesh): call
            // credentials would refuse plaintext channels.
            HttpHandler = credential is null ? handler : new BearerHandler(credential) { InnerHandler = handler },
            DisposeHttpClient = true,
            MaxReceiveMessageSize = 4 * 1024 * 1024,
        };
        return GrpcChannel.ForAddress(url, options);
    }

    private sealed class BearerHandler(string credential) : DelegatingHandler
    {
        private readonly AuthenticationHeaderValue _header = new("Bearer", credential);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            request.Headers.Authorization = _header;
            return base.SendAsync(request, cancellationToken);
        }
    }
}
