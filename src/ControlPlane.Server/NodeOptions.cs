using System.Globalization;
using System.Net;

namespace ControlPlane.Server;

/// <summary>The node's command line: <c>controlplane [--grpc-listen HOST:PORT] [--admin-listen HOST:PORT] [--fleet FILE]
/// [--data-dir DIR] [--storage sqlite|memory] [--redis HOST:PORT [--node-name NAME] [--advertise HOST:PORT]
/// [--cluster-prefix ID] [--role both|silo|data-plane] [--silo-port P] [--gateway-port P] [--membership fast|orleans]]
/// [--dashboard on|off] [--enable-diagnostics] [--decision-key BASE64] [--accept-unrouted-outcomes] [--admin-key-file FILE]
/// [--jwt-issuer ISS --jwt-audience AUD --jwt-key-file FILE]
/// [--tls-cert FILE --tls-key FILE] [--admin-tls-cert FILE --admin-tls-key FILE]</c>.</summary>
internal sealed partial record NodeOptions
{
    public const int DefaultGrpcPort = 50051;

    public const int DefaultAdminPort = 8080;

    public const string DefaultDataDirectory = "data";

    public const int DefaultSiloPort = 11111;

    public const int DefaultGatewayPort = 30000;

    public const string Usage = """
        Usage: controlplane [options]
               controlplane admin <command> [options]   (the admin CLI; see 'controlplane admin --help')

        Options:
          --grpc-listen HOST:PORT   Address for the data-plane gRPC API (HTTP/2; TLS with --tls-cert). Default 127.0.0.1:50051.
                                    HOST is an IP address or 'localhost'; PORT 0 picks a free port.
          --admin-listen HOST:PORT  Address for the admin API (HTTP/1.1 JSON + OpenAPI) and the gRPC Admin service
                                    (HTTP/2 cleartext, prior knowledge). Default 127.0.0.1:8080.
          --fleet FILE              Fleet configuration to load. Default: deploy/fleet.sample.yaml, looked up
                                    from the current directory and the application's directory upwards.
          --data-dir DIR            Where grain state is stored (SQLite). Default ./data.
          --storage sqlite|memory   Grain state storage. Default sqlite; memory loses state at exit.
          --redis HOST:PORT         Run as a cluster node: Orleans membership (Clustering.Redis) and grain state
                                    (Persistence.Redis) live in this Redis (not with --storage/--data-dir).
          --role both|silo|data-plane
                                    both (default): an Orleans silo that also serves the data plane; silo: hosts
                                    grains, no data-plane listener; data-plane: an Orleans client of the silos'
                                    gateways that serves Routing and holds no grains (needs --redis).
          --node-name NAME          Node name (silo name, lease holder), unique among live nodes.
                                    Default HOSTNAME-GRPCPORT.
          --advertise IP            Address other silos use to reach this silo. Default: the gRPC listen address
                                    (required when that is 0.0.0.0 or ::).
          --silo-port PORT          Orleans silo-to-silo port. Default 11111 (0 picks a free port).
          --gateway-port PORT       Orleans gateway port for data-plane nodes. Default 30000 in a cluster (0 picks a
                                    free port); none on a single node.
          --cluster-prefix ID       The Orleans cluster id (Redis keys are scoped by it). Default cp.
          --membership fast|orleans Failure detection: fast (default; probe 1 s, max probe 2 s, 3 missed probes,
                                    2 votes) or orleans (Orleans' defaults: probe 5 s, max 20 s).
          --dashboard on|off        The Orleans Dashboard under /dashboard on the admin port (role viewer). Default on.
          --decision-key BASE64     The cluster's decision key (base64 of 32-64 random bytes, the same on every node):
                                    decision ids carry a MAC under it. Default: the CONTROLPLANE_DECISION_KEY
                                    environment variable, else a key generated once per cluster and kept in its storage.
          --admin-key-file FILE     The bootstrap admin key (a cpk_ token holding every role), ensured in the key store
                                    by every node. Default: the CONTROLPLANE_ADMIN_KEY environment variable, else a key
                                    generated on first start into DATA-DIR/admin.key (mode 0600; the path is printed).
          --jwt-issuer ISS          Accept JWT bearer tokens from this issuer (with --jwt-audience and --jwt-key-file).
          --jwt-audience AUD        The audience JWTs must name.
          --jwt-key-file FILE       The JWT signing key: a PEM public key (RSA or EC), or an HMAC key (>= 32 bytes).
          --accept-unrouted-outcomes
                                    Accept outcomes without a decision_id (from proxies that route on their own table).
                                    Default: refused with INVALID_ARGUMENT. Caller identities will replace this switch.
          --tls-cert FILE           PEM certificate (leaf first, then intermediates) for TLS on both listeners: the data
                                    plane becomes HTTP/2 over TLS (ALPN h2), the admin API HTTPS (HTTP/1.1 and HTTP/2).
                                    Default: none (plaintext; keep the listeners on loopback).
          --tls-key FILE            The certificate's unencrypted PEM private key (RSA or ECDSA). Needs --tls-cert.
          --admin-tls-cert FILE     Another PEM certificate for the admin listener only (with --admin-tls-key FILE).
          --admin-tls-key FILE      Its private key.
          --kubernetes              Run as a pod (with --redis): Orleans' Kubernetes hosting; the node is named after
                                    POD_NAME, advertises POD_IP, takes its cluster id from ORLEANS_CLUSTER_ID.
                                    The Redis password comes from CONTROLPLANE_REDIS_PASSWORD (docs/operations.md).
          --request-log FILE|off    The request log: one JSON line per accepted outcome (docs/request-log.md).
                                    Default DATA-DIR/requests.jsonl; off with --storage memory and no --data-dir.
          --request-log-sample RATE Share of successful primary requests logged, per request (0-1, default 1);
                                    errors, fallbacks and quality failures are always logged.
          --request-log-max-mb N    Rotate the file at N MiB (1-102400, default 100).
          --request-log-files N     Files kept in all, the current one included (1-100, default 5).
          --request-log-otlp        Also write each record to the ControlPlane.RequestLog logger (OTLP logs when OTLP is on).
          --telemetry on|off        OpenTelemetry metrics, traces and the Prometheus /metrics page (admin port, role
                                    viewer). Default on.
          --otlp-endpoint URL       Export metrics, traces and logs over OTLP (gRPC) to URL. Default: on only when the
                                    standard OTEL_EXPORTER_OTLP_* endpoint variables are set.
          --trace-sample RATIO      Share of traces sampled at the root (0 to 1), parent-based: a sampled incoming
                                    traceparent is always traced. Default 0.01.
          --enable-diagnostics      Serve controlplane.v1.Diagnostics (an echo service for interop checks; off by default).
          --disable-diagnostics     Do not serve it (the default).
          -h, --help                Show this help.
        """ + "\n" + FederationUsage;

    /// <summary>Where gRPC listens.</summary>
    public IPEndPoint GrpcEndpoint { get; init; } = new(IPAddress.Loopback, DefaultGrpcPort);

    /// <summary>Where the admin API listens.</summary>
    public IPEndPoint AdminEndpoint { get; init; } = new(IPAddress.Loopback, DefaultAdminPort);

    /// <summary>The fleet file; null means the sample found by <see cref="FleetLocator"/>.</summary>
    public string? FleetPath { get; init; }

    /// <summary>Where SQLite state lives.</summary>
    public string DataDirectory { get; init; } = DefaultDataDirectory;

    /// <summary>Grain state storage.</summary>
    public ControlPlane.Service.ControlPlaneStorage Storage { get; init; } = ControlPlane.Service.ControlPlaneStorage.Sqlite;

    /// <summary>Whether <c>--storage</c> or <c>--data-dir</c> was given (they do not apply to a cluster node).</summary>
    public bool LocalStorageGiven { get; init; }

    /// <summary>The Redis of the cluster (<c>host:port</c>); null runs a single node.</summary>
    public string? RedisEndpoint { get; init; }

    /// <summary>The cluster node name; null derives it from the host name and gRPC port.</summary>
    public string? NodeName { get; init; }

    /// <summary>The IP other silos call; null uses the gRPC listen address.</summary>
    public string? AdvertiseAddress { get; init; }

    /// <summary>The Orleans cluster id.</summary>
    public string ClusterPrefix { get; init; } = "cp";

    /// <summary>What the node runs.</summary>
    public NodeRole Role { get; init; } = NodeRole.Both;

    /// <summary>Silo-to-silo port (0: a free port).</summary>
    public int SiloPort { get; init; } = DefaultSiloPort;

    /// <summary>Gateway port of a cluster silo (0: a free port).</summary>
    public int GatewayPort { get; init; } = DefaultGatewayPort;

    /// <summary>Orleans' default failure detection instead of the tuned one.</summary>
    public bool OrleansDefaultMembership { get; init; }

    /// <summary>Serve the Orleans Dashboard on the admin port (default on; <c>--dashboard off</c> disables it).</summary>
    public bool Dashboard { get; init; } = true;

    /// <summary>True when the node joins a cluster.</summary>
    public bool IsClusterNode => RedisEndpoint is not null;

    /// <summary>Whether the Diagnostics service is served.</summary>
    public bool EnableDiagnostics { get; init; }

    /// <summary>The configured decision key (base64), or null for the cluster's generated one.</summary>
    public string? DecisionKey { get; init; }

    /// <summary>Accept outcomes without a decision id.</summary>
    public bool AcceptUnroutedOutcomes { get; init; }

    /// <summary>The JWT issuer accepted (<c>--jwt-issuer</c>); null accepts API keys only.</summary>
    public string? JwtIssuer { get; init; }

    /// <summary>The JWT audience accepted (<c>--jwt-audience</c>).</summary>
    public string? JwtAudience { get; init; }

    /// <summary>The JWT signing key file (<c>--jwt-key-file</c>): a PEM public key, or an HMAC key of at least 32 bytes.</summary>
    public string? JwtKeyFile { get; init; }

    /// <summary>A file holding the bootstrap admin key (<c>--admin-key-file</c>); Program reads it into <see cref="AdminKey"/>.</summary>
    public string? AdminKeyFile { get; init; }

    /// <summary>The bootstrap admin key (a <c>cpk_</c> token) every node ensures in the key store; null generates one
    /// into <c>DATA-DIR/admin.key</c> when the store is empty.</summary>
    public string? AdminKey { get; init; }

    /// <summary>Further security settings (tests: a faster key poll or denial flush).</summary>
    public Action<ControlPlane.Service.Security.SecurityOptions>? ConfigureSecurity { get; init; }

    /// <summary>The environment variable holding the bootstrap admin key when <c>--admin-key-file</c> is not given.</summary>
    public const string AdminKeyVariable = "CONTROLPLANE_ADMIN_KEY";

    /// <summary>The environment variable holding the decision key when <c>--decision-key</c> is not given.</summary>
    public const string DecisionKeyVariable = "CONTROLPLANE_DECISION_KEY";

    /// <summary>PEM certificate of both listeners' TLS; null serves them in plaintext.</summary>
    public string? TlsCertificatePath { get; init; }

    /// <summary>PEM private key of <see cref="TlsCertificatePath"/>.</summary>
    public string? TlsKeyPath { get; init; }

    /// <summary>PEM certificate of the admin listener, instead of <see cref="TlsCertificatePath"/> there.</summary>
    public string? AdminTlsCertificatePath { get; init; }

    /// <summary>PEM private key of <see cref="AdminTlsCertificatePath"/>.</summary>
    public string? AdminTlsKeyPath { get; init; }

    /// <summary>True when help was asked for.</summary>
    public bool ShowHelp { get; init; }

    /// <summary>Parses the command line; false with a message naming the bad argument.</summary>
    public static bool TryParse(IReadOnlyList<string> args, out NodeOptions options, out string error)
    {
        options = new NodeOptions();
        error = "";
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string? inlineValue = null;
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                inlineValue = arg[(eq + 1)..];
                arg = arg[..eq];
            }

            switch (arg)
            {
                case "-h" or "--help" or "-?":
                    options = options with { ShowHelp = true };
                    break;
                case "--disable-diagnostics" when inlineValue is null:
                    options = options with { EnableDiagnostics = false };
                    break;
                case "--enable-diagnostics" when inlineValue is null:
                    options = options with { EnableDiagnostics = true };
                    break;
                case "--grpc-listen" or "--admin-listen":
                    var value = inlineValue ?? (i + 1 < args.Count ? args[++i] : null);
                    var example = arg == "--grpc-listen" ? "127.0.0.1:50051" : "127.0.0.1:8080";
                    if (value is null)
                    {
                        error = $"Option '{arg}' needs a value HOST:PORT, e.g. {example}.";
                        return false;
                    }

                    if (!TryParseEndpoint(value, out var endpoint, out error, arg))
                    {
                        return false;
                    }

                    options = arg == "--grpc-listen" ? options with { GrpcEndpoint = endpoint } : options with { AdminEndpoint = endpoint };
                    break;
                case "--accept-unrouted-outcomes" when inlineValue is null:
                    options = options with { AcceptUnroutedOutcomes = true };
                    break;
                case "--kubernetes" when inlineValue is null:
                    options = options with { Kubernetes = true };
                    break;
                case "--dashboard":
                    // Bare --dashboard keeps meaning on; an on|off value may follow (inline or as the next argument).
                    var dashboard = inlineValue ?? (i + 1 < args.Count && args[i + 1] is "on" or "off" ? args[++i] : "on");
                    if (dashboard is not ("on" or "off"))
                    {
                        error = $"Invalid --dashboard '{dashboard}': expected on or off.";
                        return false;
                    }

                    options = options with { Dashboard = dashboard == "on" };
                    break;
                case "--fleet" or "--data-dir" or "--storage" or "--redis" or "--node-name" or "--advertise" or "--cluster-prefix"
                    or "--role" or "--silo-port" or "--gateway-port" or "--membership" or "--decision-key"
                    or "--jwt-issuer" or "--jwt-audience" or "--jwt-key-file" or "--admin-key-file"
                    or "--tls-cert" or "--tls-key" or "--admin-tls-cert" or "--admin-tls-key":
                    var text = inlineValue ?? (i + 1 < args.Count ? args[++i] : null);
                    if (string.IsNullOrWhiteSpace(text))
                    {
                        error = $"Option '{arg}' needs a value.";
                        return false;
                    }

                    switch (arg)
                    {
                        case "--fleet":
                            options = options with { FleetPath = text };
                            break;
                        case "--jwt-issuer":
                            options = options with { JwtIssuer = text };
                            break;
                        case "--jwt-audience":
                            options = options with { JwtAudience = text };
                            break;
                        case "--jwt-key-file":
                            options = options with { JwtKeyFile = text };
                            break;
                        case "--admin-key-file":
                            options = options with { AdminKeyFile = text };
                            break;
                        case "--tls-cert":
                            options = options with { TlsCertificatePath = text };
                            break;
                        case "--tls-key":
                            options = options with { TlsKeyPath = text };
                            break;
                        case "--admin-tls-cert":
                            options = options with { AdminTlsCertificatePath = text };
                            break;
                        case "--admin-tls-key":
                            options = options with { AdminTlsKeyPath = text };
                            break;
                        case "--decision-key":
                            if (ControlPlane.Service.DataPlane.DecisionIds.ParseKey(text) is null)
                            {
                                // The key itself is never echoed.
                                error = "Invalid --decision-key: expected base64 of 32 to 64 random bytes, e.g. from 'openssl rand -base64 32'.";
                                return false;
                            }

                            options = options with { DecisionKey = text };
                            break;
                        case "--data-dir":
                            options = options with { DataDirectory = text, LocalStorageGiven = true };
                            break;
                        case "--storage" when text is "sqlite":
                            options = options with { Storage = ControlPlane.Service.ControlPlaneStorage.Sqlite, LocalStorageGiven = true };
                            break;
                        case "--storage" when text is "memory":
                            options = options with { Storage = ControlPlane.Service.ControlPlaneStorage.Memory, LocalStorageGiven = true };
                            break;
                        case "--redis":
                            if (!TryParseHostPort(text, arg, out error))
                            {
                                return false;
                            }

                            options = options with { RedisEndpoint = text };
                            break;
                        case "--advertise":
                            if (!IPAddress.TryParse(text, out _))
                            {
                                error = $"Invalid --advertise '{text}': expected an IP address other silos can reach, e.g. 10.0.0.5.";
                                return false;
                            }

                            options = options with { AdvertiseAddress = text };
                            break;
                        case "--role" when text is "both" or "silo" or "data-plane":
                            options = options with { Role = text switch { "silo" => NodeRole.Silo, "data-plane" => NodeRole.DataPlane, _ => NodeRole.Both } };
                            break;
                        case "--role":
                            error = $"Invalid --role '{text}': expected both, silo or data-plane.";
                            return false;
                        case "--membership" when text is "fast" or "orleans":
                            options = options with { OrleansDefaultMembership = text == "orleans" };
                            break;
                        case "--membership":
                            error = $"Invalid --membership '{text}': expected fast or orleans.";
                            return false;
                        case "--silo-port" or "--gateway-port":
                            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > IPEndPoint.MaxPort)
                            {
                                error = $"Invalid {arg} '{text}': expected a port from 0 to 65535.";
                                return false;
                            }

                            options = arg == "--silo-port" ? options with { SiloPort = port } : options with { GatewayPort = port };
                            break;
                        case "--node-name":
                            if (text.Length > 64 || text.AsSpan().IndexOfAny("/|. \t\r\n") >= 0)
                            {
                                error = $"Invalid --node-name '{text}': at most 64 characters, without '/', '|', '.' or whitespace.";
                                return false;
                            }

                            options = options with { NodeName = text };
                            break;
                        case "--cluster-prefix":
                            if (text.Length > 64 || text.AsSpan().IndexOfAny("{} \t\r\n") >= 0)
                            {
                                error = $"Invalid --cluster-prefix '{text}': at most 64 characters, without braces or whitespace.";
                                return false;
                            }

                            options = options with { ClusterPrefix = text };
                            break;
                        default:
                            error = $"Invalid --storage '{text}': expected sqlite or memory.";
                            return false;
                    }

                    break;
                case "--telemetry" or "--otlp-endpoint" or "--trace-sample":
                    if (!TryParseTelemetry(arg, inlineValue ?? (i + 1 < args.Count ? args[++i] : null), ref options, out error))
                    {
                        return false;
                    }

                    break;
                case "--region" or "--federation-peer" or "--federation-credential-file":
                    if (!TryParseFederation(arg, inlineValue ?? (i + 1 < args.Count ? args[++i] : null), ref options, out error))
                    {
                        return false;
                    }

                    break;
                case "--request-log" or "--request-log-sample" or "--request-log-max-mb" or "--request-log-files" or "--request-log-otlp":
                    if (!TryParseRequestLog(arg, inlineValue, args, ref i, ref options, out error))
                    {
                        return false;
                    }

                    break;
                default:
                    error = $"Unknown argument '{args[i]}'.";
                    return false;
            }
        }

        if ((options.JwtIssuer is null) != (options.JwtAudience is null) || (options.JwtIssuer is null) != (options.JwtKeyFile is null))
        {
            error = "Options '--jwt-issuer', '--jwt-audience' and '--jwt-key-file' go together: JWTs are validated against all three.";
            return false;
        }

        if (!options.IsClusterNode && (options.NodeName ?? options.AdvertiseAddress) is not null)
        {
            error = "Options '--node-name' and '--advertise' need '--redis HOST:PORT'.";
            return false;
        }

        if (!options.IsClusterNode && options.ClusterPrefix != new NodeOptions().ClusterPrefix)
        {
            error = "Option '--cluster-prefix' needs '--redis HOST:PORT'.";
            return false;
        }

        if (!options.IsClusterNode && options.Role != NodeRole.Both)
        {
            error = "Option '--role silo|data-plane' needs '--redis HOST:PORT': a single node is both.";
            return false;
        }

        if (options.Kubernetes && (!options.IsClusterNode || options.Role == NodeRole.DataPlane))
        {
            error = "Option '--kubernetes' needs '--redis HOST:PORT' and a silo ('--role both' or 'silo'): it hosts the pod's Orleans silo.";
            return false;
        }

        if (options.IsClusterNode && options.LocalStorageGiven)
        {
            error = "Options '--storage' and '--data-dir' do not apply with '--redis': a cluster node keeps grain state in Redis.";
            return false;
        }

        if (options.IsClusterNode && options.Role != NodeRole.DataPlane && options.AdvertiseAddress is null && !options.Kubernetes
            && (options.GrpcEndpoint.Address.Equals(IPAddress.Any) || options.GrpcEndpoint.Address.Equals(IPAddress.IPv6Any)))
        {
            error = $"Option '--advertise IP' is required with '--redis' when gRPC listens on {options.GrpcEndpoint.Address}: other silos need an address to call.";
            return false;
        }

        // Certificate files are checked now (exist, PEM, key matches), so a bad one stops the node before anything starts.
        return Security.ListenerTls.Validate(options, out error);
    }

    // host:port where host is a name or an address (Redis and peers may be named); the port must be 1..65535.
    private static bool TryParseHostPort(string value, string option, out string error)
    {
        var colon = value.LastIndexOf(':');
        if (colon <= 0 || colon == value.Length - 1
            || !int.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > IPEndPoint.MaxPort
            || value.AsSpan(0, colon).IndexOfAny(" \t\r\n/") >= 0)
        {
            error = $"Invalid {option} '{value}': expected HOST:PORT with a port from 1 to 65535, e.g. 127.0.0.1:6379.";
            return false;
        }

        error = "";
        return true;
    }

    internal static bool TryParseEndpoint(string value, out IPEndPoint endpoint, out string error, string option = "--grpc-listen")
    {
        endpoint = null!;
        var colon = value.LastIndexOf(':');
        if (colon <= 0 || colon == value.Length - 1)
        {
            error = $"Invalid {option} '{value}': expected HOST:PORT, e.g. 127.0.0.1:50051.";
            return false;
        }

        var host = value[..colon];
        var portText = value[(colon + 1)..];
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > IPEndPoint.MaxPort)
        {
            error = $"Invalid {option} '{value}': port '{portText}' must be a number from 0 to 65535.";
            return false;
        }

        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        IPAddress? address;
        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            address = IPAddress.Loopback;
        }
        else if (!IPAddress.TryParse(host, out address))
        {
            error = $"Invalid {option} '{value}': host '{host}' must be an IP address or 'localhost'.";
            return false;
        }

        endpoint = new IPEndPoint(address, port);
        error = "";
        return true;
    }
}

/// <summary>What a node runs.</summary>
internal enum NodeRole
{
    /// <summary>An Orleans silo that also serves the data plane (the default).</summary>
    Both,

    /// <summary>An Orleans silo only: hosts grains, serves the admin API, no data-plane listener.</summary>
    Silo,

    /// <summary>An Orleans client of the silos' gateways that serves the data plane and holds no grains.</summary>
    DataPlane,
}
