using ControlPlane.Providers;

namespace ControlPlane.Proxy;

/// <summary>The proxy's command line: <c>--control-plane URL --upstreams FILE [--credential-file PATH]
/// [--listen 127.0.0.1:PORT] [--class-keys FILE] [--class-header on|off]</c>; the credential falls back to the
/// environment variable <c>CONTROLPLANE_PROXY_CREDENTIAL</c>.</summary>
internal static class ProxyCommandLine
{
    public const string CredentialVariable = "CONTROLPLANE_PROXY_CREDENTIAL";

    public const string Usage = """
        controlplane-proxy: an OpenAI-compatible proxy routed by the control plane.
          --control-plane URL      the control plane's data-plane gRPC address (required), e.g. http://127.0.0.1:50051
          --upstreams FILE         the upstreams file (JSON: endpoint id -> url, api, model) (required)
          --credential-file PATH   the data-plane API key presented to the control plane (else env CONTROLPLANE_PROXY_CREDENTIAL)
          --listen HOST:PORT       where to listen (default 127.0.0.1:8080)
          --class-keys FILE        YAML/JSON map of proxy API key -> workload class (keys then required)
          --class-header on|off    accept X-Workload-Class: <class> (default on)
        """;

    /// <summary>Parses <paramref name="args"/>; on failure <paramref name="error"/> says which argument is wrong.</summary>
    public static bool TryParse(IReadOnlyList<string> args, Func<string, string?> environment, out ProxyOptions options, out string error)
    {
        options = new ProxyOptions { ConsoleLogging = true };
        error = string.Empty;
        string? credentialFile = null;
        for (var i = 0; i < args.Count; i++)
        {
            var name = args[i];
            if (name is "-h" or "--help")
            {
                error = Usage;
                return false;
            }

            if (i + 1 >= args.Count)
            {
                error = $"{name}: a value is required.";
                return false;
            }

            var value = args[++i];
            try
            {
                switch (name)
                {
                    case "--control-plane":
                        if (!Uri.TryCreate(value, UriKind.Absolute, out var address))
                        {
                            error = $"--control-plane: \"{value}\" is not an absolute URL.";
                            return false;
                        }

                        options.ControlPlane = address;
                        break;
                    case "--upstreams":
                        options.Upstreams = UpstreamsFile.Load(value);
                        break;
                    case "--credential-file":
                        credentialFile = value;
                        break;
                    case "--listen":
                        if (!ProxyHost.TryParseListen(value, out var endpoint))
                        {
                            error = $"--listen: \"{value}\" is not HOST:PORT (an IP address and a port).";
                            return false;
                        }

                        options.Listen = endpoint;
                        break;
                    case "--class-keys":
                        options.ClassKeys = ClassKeysFile.Load(value);
                        break;
                    case "--class-header":
                        if (value is not ("on" or "off"))
                        {
                            error = "--class-header: must be on or off.";
                            return false;
                        }

                        options.ClassHeader = value == "on";
                        break;
                    default:
                        error = $"{name}: unknown argument.\n{Usage}";
                        return false;
                }
            }
            catch (UpstreamsFileException failure)
            {
                error = $"--upstreams: {failure.Message}";
                return false;
            }
            catch (ClassKeysFileException failure)
            {
                error = $"--class-keys: {failure.Message}";
                return false;
            }
        }

        if (options.ControlPlane is null || options.Upstreams is null)
        {
            error = $"--control-plane and --upstreams are required.\n{Usage}";
            return false;
        }

        if (credentialFile is not null)
        {
            try
            {
                options.Credential = File.ReadAllText(credentialFile).Trim();
            }
            catch (IOException failure)
            {
                error = $"--credential-file: {failure.Message}";
                return false;
            }
            catch (UnauthorizedAccessException failure)
            {
                error = $"--credential-file: {failure.Message}";
                return false;
            }
        }
        else if (environment(CredentialVariable) is { Length: > 0 } fromEnvironment)
        {
            options.Credential = fromEnvironment.Trim();
        }

        return true;
    }
}
