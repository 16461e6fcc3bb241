using System.Globalization;
using System.Net;

namespace ControlPlane.Server;

/// <summary>The node's command line: <c>controlplane [--grpc-listen HOST:PORT] [--admin-listen HOST:PORT] [--fleet FILE]
/// [--data-dir DIR] [--storage sqlite|memory] [--redis HOST:PORT [--node-name NAME] [--advertise HOST:PORT]
/// [--cluster-prefix PREFIX]] [--disable-diagnostics]</c>.</summary>
internal sealed record NodeOptions
{
    public const int DefaultGrpcPort = 50051;

    public const int DefaultAdminPort = 8080;

    public const string DefaultDataDirectory = "data";

    public const string Usage = """
        Usage: controlplane [options]

        Options:
          --grpc-listen HOST:PORT   Address for gRPC (HTTP/2 cleartext). Default 127.0.0.1:50051.
                                    HOST is an IP address or 'localhost'; PORT 0 picks a free port.
          --admin-listen HOST:PORT  Address for the admin API (HTTP/1.1 JSON + OpenAPI). Default 127.0.0.1:8080.
          --fleet FILE              Fleet configuration to load. Default: deploy/fleet.sample.yaml, looked up
                                    from the current directory and the application's directory upwards.
          --data-dir DIR            Where grain state is stored (SQLite). Default ./data.
          --storage sqlite|memory   Grain state storage. Default sqlite; memory loses state at exit.
          --redis HOST:PORT         Run as a cluster node: membership, grain placement and grain state live in this
                                    Redis (not with --storage/--data-dir); nodes call each other's grains over gRPC.
          --node-name NAME          Cluster node name, unique among live nodes. Default HOSTNAME-GRPCPORT.
          --advertise HOST:PORT     Address other nodes use to reach this node's gRPC port. Default: the
                                    --grpc-listen address (required when that is 0.0.0.0 or ::).
          --cluster-prefix PREFIX   Prefix of every Redis key of the cluster. Default cp:grains.
          --disable-diagnostics     Do not serve controlplane.v1.Diagnostics (served by default).
          --enable-diagnostics      Serve controlplane.v1.Diagnostics (the default; for explicitness).
          -h, --help                Show this help.
        """;

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

    /// <summary>The <c>host:port</c> other nodes call; null uses the gRPC listen address.</summary>
    public string? AdvertiseAddress { get; init; }

    /// <summary>The Redis key prefix of the cluster.</summary>
    public string ClusterPrefix { get; init; } = "cp:grains";

    /// <summary>True when the node joins a cluster.</summary>
    public bool IsClusterNode => RedisEndpoint is not null;

    /// <summary>Whether the Diagnostics service is served.</summary>
    public bool EnableDiagnostics { get; init; } = true;

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
                case "--fleet" or "--data-dir" or "--storage" or "--redis" or "--node-name" or "--advertise" or "--cluster-prefix":
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
                        case "--data-dir":
                            options = options with { DataDirectory = text, LocalStorageGiven = true };
                            break;
                        case "--storage" when text is "sqlite":
                            options = options with { Storage = ControlPlane.Service.ControlPlaneStorage.Sqlite, LocalStorageGiven = true };
                            break;
                        case "--storage" when text is "memory":
                            options = options with { Storage = ControlPlane.Service.ControlPlaneStorage.Memory, LocalStorageGiven = true };
                            break;
                        case "--redis" or "--advertise":
                            if (!TryParseHostPort(text, arg, out error))
                            {
                                return false;
                            }

                            options = arg == "--redis" ? options with { RedisEndpoint = text } : options with { AdvertiseAddress = text };
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
                default:
                    error = $"Unknown argument '{args[i]}'.";
                    return false;
            }
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

        if (options.IsClusterNode && options.LocalStorageGiven)
        {
            error = "Options '--storage' and '--data-dir' do not apply with '--redis': a cluster node keeps grain state in Redis.";
            return false;
        }

        if (options.IsClusterNode && options.AdvertiseAddress is null
            && (options.GrpcEndpoint.Address.Equals(IPAddress.Any) || options.GrpcEndpoint.Address.Equals(IPAddress.IPv6Any)))
        {
            error = $"Option '--advertise HOST:PORT' is required with '--redis' when gRPC listens on {options.GrpcEndpoint.Address}: other nodes need an address to call.";
            return false;
        }

        return true;
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
