using System.Globalization;
using System.Net;

namespace ControlPlane.Server;

/// <summary>The node's command line: <c>controlplane [--grpc-listen HOST:PORT] [--admin-listen HOST:PORT] [--fleet FILE]
/// [--data-dir DIR] [--storage sqlite|memory] [--disable-diagnostics]</c>.</summary>
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
                case "--fleet" or "--data-dir" or "--storage":
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
                            options = options with { DataDirectory = text };
                            break;
                        case "--storage" when text is "sqlite":
                            options = options with { Storage = ControlPlane.Service.ControlPlaneStorage.Sqlite };
                            break;
                        case "--storage" when text is "memory":
                            options = options with { Storage = ControlPlane.Service.ControlPlaneStorage.Memory };
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
