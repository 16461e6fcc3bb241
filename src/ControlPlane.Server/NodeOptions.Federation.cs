using System.Collections.Immutable;
using ControlPlane.Fleet;
using ControlPlane.Service.Federation;

namespace ControlPlane.Server;

/// <summary>The federation flags (<c>--region NAME</c>, <c>--federation-peer NAME=URL</c> (repeatable),
/// <c>--federation-credential-file PATH</c>; <c>docs/regions.md</c>).</summary>
internal sealed partial record NodeOptions
{
    /// <summary>The environment variable holding the federation credential when <c>--federation-credential-file</c> is
    /// not given.</summary>
    public const string FederationCredentialVariable = "CONTROLPLANE_FEDERATION_CREDENTIAL";

    /// <summary>Longest federation credential accepted.</summary>
    internal const int MaxFederationCredentialLength = 4096;

    /// <summary>The usage lines of the federation flags.</summary>
    public const string FederationUsage = """
          --region NAME             This cluster's region (one of the fleet file's regions:). Federation is on when it
                                    is set and the fleet lists regions (docs/regions.md).
          --federation-peer NAME=URL
                                    Where peer region NAME's Federation service is reached (repeatable); overrides the
                                    fleet's federation_url for that region.
          --federation-credential-file FILE
                                    The bearer credential this region presents to its peers (a key holding the
                                    'federation' role there). Default: CONTROLPLANE_FEDERATION_CREDENTIAL.
        """;

    /// <summary>This cluster's region (<c>--region</c>); null: federation off.</summary>
    public string? Region { get; init; }

    /// <summary>Peer URLs given on the command line (<c>--federation-peer</c>), by region.</summary>
    public ImmutableDictionary<string, Uri> FederationPeers { get; init; } = ImmutableDictionary.Create<string, Uri>(StringComparer.Ordinal);

    /// <summary>The file holding the federation credential (<c>--federation-credential-file</c>).</summary>
    public string? FederationCredentialFile { get; init; }

    /// <summary>The federation credential (read by Program from the file or the environment).</summary>
    public string? FederationCredential { get; init; }

    private static bool TryParseFederation(string option, string? value, ref NodeOptions options, out string error)
    {
        error = "";
        if (string.IsNullOrWhiteSpace(value))
        {
            error = $"Option '{option}' needs a value.";
            return false;
        }

        switch (option)
        {
            case "--region":
                if (!IsRegionName(value))
                {
                    error = $"Invalid --region '{value}': expected a region name (letters, digits, '-', '_' and '.', at most 64 characters).";
                    return false;
                }

                options = options with { Region = value };
                return true;
            case "--federation-peer":
                int eq = value.IndexOf('=', StringComparison.Ordinal);
                string name = eq > 0 ? value[..eq] : "";
                string url = eq > 0 ? value[(eq + 1)..] : "";
                if (!IsRegionName(name) || url.Length is 0 or > 2048 || !Uri.TryCreate(url, UriKind.Absolute, out var uri)
                    || uri.Scheme is not ("http" or "https") || string.IsNullOrEmpty(uri.Host))
                {
                    error = $"Invalid --federation-peer '{value}': expected NAME=URL with an http(s) URL, e.g. eu-west=http://cp-eu-west.internal:50051.";
                    return false;
                }

                if (options.FederationPeers.ContainsKey(name))
                {
                    error = $"Invalid --federation-peer '{value}': region '{name}' is given twice.";
                    return false;
                }

                if (options.FederationPeers.Count >= FederationOptions.MaxPeers)
                {
                    error = $"Invalid --federation-peer: at most {FederationOptions.MaxPeers} peers.";
                    return false;
                }

                options = options with { FederationPeers = options.FederationPeers.Add(name, uri) };
                return true;
            default:
                options = options with { FederationCredentialFile = value };
                return true;
        }
    }

    private static bool IsRegionName(string name) =>
        name.Length is > 0 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');

    /// <summary>Reads the federation credential from <see cref="FederationCredentialFile"/>, else the environment; false
    /// with a message (the credential itself is never echoed).</summary>
    internal static bool TryLoadFederationCredential(NodeOptions options, Func<string, string?> environment, out NodeOptions loaded, out string error)
    {
        loaded = options;
        error = "";
        string? credential;
        string source;
        if (options.FederationCredentialFile is { } file)
        {
            source = "--federation-credential-file";
            try
            {
                var info = new FileInfo(file);
                if (info.Exists && info.Length > MaxFederationCredentialLength * 4L)
                {
                    error = $"Invalid {source}: the file is larger than {MaxFederationCredentialLength} characters.";
                    return false;
                }

                credential = File.ReadAllText(file).Trim();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                error = $"Cannot read --federation-credential-file: {ex.Message}";
                return false;
            }
        }
        else
        {
            source = FederationCredentialVariable;
            credential = environment(FederationCredentialVariable)?.Trim();
            if (string.IsNullOrEmpty(credential))
            {
                return true;
            }
        }

        if (credential.Length is 0 or > MaxFederationCredentialLength || credential.Any(c => c <= ' ' || c > '~'))
        {
            error = $"Invalid {source}: expected one token of printable ASCII without spaces, at most {MaxFederationCredentialLength} characters.";
            return false;
        }

        loaded = options with { FederationCredential = credential };
        return true;
    }

    /// <summary>The federation settings of this node against <paramref name="fleet"/>; throws <see cref="ArgumentException"/>
    /// with a clear message when the flags do not fit the fleet (unknown region, a peer for the own region, no URL).</summary>
    internal Action<FederationOptions> ResolveFederation(FleetDefinition fleet)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        var regions = fleet.Regions;
        if (Region is null)
        {
            if (!FederationPeers.IsEmpty)
            {
                throw new ArgumentException("Option '--federation-peer' needs '--region NAME': federation is off without it.");
            }

            return _ => { };
        }

        string known = regions.IsFederated ? string.Join(", ", regions.All.Select(r => r.Name)) : "";
        if (!regions.IsFederated)
        {
            throw new ArgumentException($"Option '--region {Region}' needs 'regions:' in the fleet file ({fleet.SourceName}): it lists no regions.");
        }

        if (regions.Find(Region) is null)
        {
            throw new ArgumentException($"Invalid --region '{Region}': not a region of the fleet file; its regions are {known}.");
        }

        var peers = new Dictionary<string, Uri>(StringComparer.Ordinal);
        foreach (var (name, url) in FederationPeers)
        {
            if (name == Region)
            {
                throw new ArgumentException($"Invalid --federation-peer '{name}={url}': '{name}' is this cluster's own region.");
            }

            if (regions.Find(name) is null)
            {
                throw new ArgumentException($"Invalid --federation-peer '{name}={url}': '{name}' is not a region of the fleet file; its regions are {known}.");
            }

            peers[name] = url;
        }

        foreach (var region in regions.All)
        {
            if (region.Name == Region || peers.ContainsKey(region.Name))
            {
                continue;
            }

            peers[region.Name] = region.FederationUrl
                ?? throw new ArgumentException($"No federation URL for peer region '{region.Name}': give it 'federation_url' in the fleet file or '--federation-peer {region.Name}=URL'.");
        }

        string region0 = Region;
        string? credential = FederationCredential;
        string? policyHome = regions.PolicyHome;
        return o =>
        {
            o.Region = region0;
            o.Credential = credential;
            o.PolicyHome = policyHome;
            foreach (var (name, url) in peers)
            {
                o.Peers[name] = url;
            }
        };
    }
}
