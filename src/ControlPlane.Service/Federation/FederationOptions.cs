namespace ControlPlane.Service.Federation;

/// <summary>
/// Federation between regional clusters (<c>docs/regions.md</c>): this cluster's region, how it reaches its peer
/// regions' Federation services, and the credential it presents to them. Federation is on only when
/// <see cref="Region"/> is set (the node's <c>--region</c>, with <c>regions:</c> in the fleet file); otherwise nothing
/// of it runs and every endpoint is served as today.
/// </summary>
public sealed class FederationOptions
{
    /// <summary>Most peer regions (the fleet file lists at most 32 regions).</summary>
    public const int MaxPeers = 31;

    /// <summary>This cluster's region (<c>--region</c>); null turns federation off.</summary>
    public string? Region { get; set; }

    /// <summary>Where each peer region's Federation service is reached (the fleet's <c>federation_url</c>, overridden by
    /// <c>--federation-peer NAME=URL</c>), by region name. Never contains <see cref="Region"/>.</summary>
    public IDictionary<string, Uri> Peers { get; } = new Dictionary<string, Uri>(StringComparer.Ordinal);

    /// <summary>The bearer credential (an API key holding the <c>federation</c> role in the peer regions) sent on every
    /// federation call (<c>--federation-credential-file</c> or <c>CONTROLPLANE_FEDERATION_CREDENTIAL</c>); null sends none
    /// (peers then refuse the calls).</summary>
    public string? Credential { get; set; }

    /// <summary>The region authoritative for class policy (the fleet's <c>policy_home</c>); null when federation is off.</summary>
    public string? PolicyHome { get; set; }

    /// <summary>How often the change feed sends a heartbeat when nothing changed. Default 1 s (0.1 to 30 s).</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a feed reader waits without any message (change or heartbeat) before it drops the link and
    /// reconnects. Default 3 s (at least twice <see cref="HeartbeatInterval"/>).</summary>
    public TimeSpan LinkTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>First reconnect delay of a feed reader (doubled per failed attempt, with jitter). Default 200 ms.</summary>
    public TimeSpan ReconnectMinDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest reconnect delay. Default 5 s.</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Most outcomes in one forwarded batch (wire bound as well). Default 1024.</summary>
    public int MaxForwardBatch { get; set; } = 1024;

    /// <summary>True when federation is on.</summary>
    public bool Enabled => Region is not null;

    /// <summary>Checks the settings; throws <see cref="ArgumentException"/> naming the bad one.</summary>
    public void Validate()
    {
        if (Region is null)
        {
            return;
        }

        if (Peers.ContainsKey(Region))
        {
            throw new ArgumentException($"Federation: a peer URL is given for this cluster's own region '{Region}'.");
        }

        if (Peers.Count > MaxPeers)
        {
            throw new ArgumentException($"Federation: at most {MaxPeers} peer regions, got {Peers.Count}.");
        }

        foreach (var (name, url) in Peers)
        {
            if (!url.IsAbsoluteUri || url.Scheme is not ("http" or "https"))
            {
                throw new ArgumentException($"Federation: peer '{name}' URL '{url}' must be an absolute http(s) URL.");
            }
        }

        if (HeartbeatInterval < TimeSpan.FromMilliseconds(100) || HeartbeatInterval > TimeSpan.FromSeconds(30))
        {
            throw new ArgumentException("Federation: HeartbeatInterval must be between 0.1 and 30 seconds.");
        }

        if (LinkTimeout < 2 * HeartbeatInterval)
        {
            throw new ArgumentException("Federation: LinkTimeout must be at least twice HeartbeatInterval.");
        }

        if (ReconnectMinDelay <= TimeSpan.Zero || ReconnectMaxDelay < ReconnectMinDelay)
        {
            throw new ArgumentException("Federation: ReconnectMinDelay must be positive and at most ReconnectMaxDelay.");
        }

        if (MaxForwardBatch is < 1 or > 1024)
        {
            throw new ArgumentException("Federation: MaxForwardBatch must be between 1 and 1024.");
        }
    }
}
