using System.CommandLine;

namespace ControlPlane.Server.AdminCli;

/// <summary>Where and how the CLI calls the admin API, resolved from the global options and the environment.</summary>
/// <param name="BaseUrl">The node's admin listener.</param>
/// <param name="Key">The bearer credential (API key or JWT), if any.</param>
/// <param name="Json">Print the API's JSON instead of tables.</param>
/// <param name="Timeout">How long one call may take.</param>
internal sealed record CliConnection(Uri BaseUrl, string? Key, bool Json, TimeSpan Timeout);

/// <summary>The options every command takes (<c>--url</c>, <c>--key</c>, <c>--key-file</c>, <c>--output</c>,
/// <c>--timeout</c>), and their resolution against the environment.</summary>
internal sealed class CliGlobals
{
    /// <summary>The admin URL when neither <c>--url</c> nor <see cref="UrlVariable"/> is given.</summary>
    public const string DefaultUrl = "http://127.0.0.1:8080";

    /// <summary>Environment variable with the admin URL.</summary>
    public const string UrlVariable = "CONTROLPLANE_URL";

    /// <summary>Environment variable with the credential.</summary>
    public const string KeyVariable = "CONTROLPLANE_KEY";

    /// <summary>The key file read when no credential is given and it exists (relative to the working directory).</summary>
    public static readonly string DefaultKeyFile = Path.Combine("data", "admin.key");

    /// <summary>Largest key file read.</summary>
    public const int MaxKeyFileBytes = 16 * 1024;

    /// <summary>The longest <c>--timeout</c> accepted (a longer wait is a hung call, not a slow one).</summary>
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromHours(1);

    /// <summary>The call timeout when <c>--timeout</c> is not given.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    public Option<string?> Url { get; } = new("--url")
    {
        Description = $"Admin API address (default {DefaultUrl}, or env {UrlVariable}).",
        Recursive = true,
    };

    public Option<string?> Key { get; } = new("--key")
    {
        Description = $"Credential sent as 'Authorization: Bearer' (API key or JWT; or env {KeyVariable}).",
        Recursive = true,
    };

    public Option<string?> KeyFile { get; } = new("--key-file")
    {
        Description = $"File holding the credential (default ./{DefaultKeyFile} when it exists).",
        Recursive = true,
    };

    public Option<string> Output { get; } = new("--output", "-o")
    {
        Description = "table (for people) or json (the API's JSON, for scripts).",
        DefaultValueFactory = _ => "table",
        Recursive = true,
    };

    public Option<string?> Timeout { get; } = new("--timeout")
    {
        Description = "How long one call may take (e.g. 10s, 1m; default 30s, at most 1h).",
        Recursive = true,
    };

    /// <summary>Adds the options to the root command (they apply to every subcommand).</summary>
    public void AddTo(Command root)
    {
        Output.AcceptOnlyFromAmong("table", "json");
        root.Add(Url);
        root.Add(Key);
        root.Add(KeyFile);
        root.Add(Output);
        root.Add(Timeout);
    }

    /// <summary>Resolves the connection: options first, then the environment, then the defaults.</summary>
    public CliConnection Resolve(ParseResult parse, CliContext context)
    {
        var urlText = parse.GetValue(Url) ?? NonEmpty(context.Environment(UrlVariable)) ?? DefaultUrl;
        if (!Uri.TryCreate(urlText, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttp && url.Scheme != Uri.UriSchemeHttps)
            || !string.IsNullOrEmpty(url.Query) || !string.IsNullOrEmpty(url.Fragment))
        {
            throw new CliUsageException($"--url: '{urlText}' is not an http:// or https:// address");
        }

        var timeout = parse.GetValue(Timeout) is { } timeoutText ? CliInput.Duration(timeoutText, "--timeout") : DefaultTimeout;
        if (timeout > MaxTimeout)
        {
            throw new CliUsageException($"--timeout: at most {MaxTimeout.TotalMinutes:0} minutes");
        }

        return new CliConnection(url, ResolveKey(parse, context), parse.GetValue(Output) == "json", timeout);
    }

    private string? ResolveKey(ParseResult parse, CliContext context)
    {
        if (parse.GetValue(Key) is { } key)
        {
            return CheckedKey(key, "--key");
        }

        if (NonEmpty(context.Environment(KeyVariable)) is { } fromEnvironment)
        {
            return CheckedKey(fromEnvironment, KeyVariable);
        }

        if (parse.GetValue(KeyFile) is { } file)
        {
            var path = Path.GetFullPath(file, context.WorkingDirectory);
            return File.Exists(path) ? ReadKeyFile(path, "--key-file") : throw new CliUsageException($"--key-file: '{file}' does not exist");
        }

        var fallback = Path.Combine(context.WorkingDirectory, DefaultKeyFile);
        return File.Exists(fallback) ? ReadKeyFile(fallback, DefaultKeyFile) : null;
    }

    private static string ReadKeyFile(string path, string what)
    {
        try
        {
            var info = new FileInfo(path);
            if (info.Length > MaxKeyFileBytes)
            {
                throw new CliUsageException($"{what}: '{path}' is larger than {MaxKeyFileBytes} bytes; it is not a key file");
            }

            return CheckedKey(File.ReadAllText(path).Trim(), what);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            throw new CliUsageException($"{what}: cannot read '{path}': {error.Message}", error);
        }
    }

    // A credential goes into a header: printable ASCII without spaces, bounded.
    private static string CheckedKey(string key, string what)
    {
        key = key.Trim();
        if (key.Length is 0 or > 8192 || key.Any(c => c is <= ' ' or > '~'))
        {
            throw new CliUsageException($"{what}: not a credential (expected printable ASCII without spaces, at most 8192 characters)");
        }

        return key;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
