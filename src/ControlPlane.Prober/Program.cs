using System.Globalization;
using System.Net;
using ControlPlane.Fleet;
using ControlPlane.Providers;
using ControlPlane.Shared;

namespace ControlPlane.Prober;

/// <summary>The prober's command line (docs/evals.md).</summary>
public static class Program
{
    private const string Usage = """
        usage: ControlPlane.Prober --control-plane URL --upstreams FILE [--credential-file PATH] [--golden FILE]
                                   [--fleet FILE] [--interval 60s] [--open-interval 10s] [--max-tokens-per-probe N]
                                   [--budget-tokens-per-hour N] [--listen 127.0.0.1:PORT]
        The credential (an API key with the prober role) comes from --credential-file, else CONTROLPLANE_PROBER_CREDENTIAL.
        """;

    /// <summary>Runs the prober until Ctrl+C (or SIGTERM). Exit codes: 0 stopped, 2 bad arguments or files.</summary>
    public static async Task<int> Main(string[] args)
    {
        ProberOptions options;
        try
        {
            options = Parse(args, Environment.GetEnvironmentVariable);
        }
        catch (Exception e) when (e is ArgumentException or IOException)
        {
            await Console.Error.WriteLineAsync(e.Message + Environment.NewLine + Usage).ConfigureAwait(false);
            return 2;
        }

        using var stop = new ConsoleStop();

        ProberHost host;
        try
        {
            host = await ProberHost.StartAsync(options, stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is GoldenSetException or UpstreamsFileException or FleetConfigException or ArgumentException or IOException)
        {
            await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
            return 2;
        }

        await using (host.ConfigureAwait(false))
        {
            Console.WriteLine($"prober: {host.GoldenSet.Count} golden prompts, status {host.StatusUri}prober/v1/status");
            await stop.WaitAsync().ConfigureAwait(false);
        }

        return 0;
    }

    /// <summary>Parses the command line; <paramref name="environment"/> reads the credential variable.</summary>
    /// <exception cref="ArgumentException">An unknown flag, a missing value or a malformed number.</exception>
    public static ProberOptions Parse(IReadOnlyList<string> args, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(environment);
        var options = new ProberOptions();
        string? credentialFile = null;
        for (var i = 0; i < args.Count; i++)
        {
            var flag = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{flag}: a value is required");
            switch (flag)
            {
                case "--control-plane":
                    options.ControlPlane = Uri.TryCreate(Value(), UriKind.Absolute, out var uri) ? uri : throw new ArgumentException($"{flag}: expected an absolute URL");
                    break;
                case "--credential-file":
                    credentialFile = Value();
                    break;
                case "--upstreams":
                    options.UpstreamsPath = Value();
                    break;
                case "--golden":
                    options.GoldenSetPath = Value();
                    break;
                case "--fleet":
                    options.FleetPath = Value();
                    break;
                case "--interval":
                    options.Interval = Duration(flag, Value());
                    break;
                case "--open-interval":
                    options.OpenInterval = Duration(flag, Value());
                    break;
                case "--max-tokens-per-probe":
                    options.MaxTokensPerProbe = int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out var max) ? max : throw new ArgumentException($"{flag}: expected a whole number");
                    break;
                case "--budget-tokens-per-hour":
                    options.BudgetTokensPerHour = long.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out var budget) ? budget : throw new ArgumentException($"{flag}: expected a whole number");
                    break;
                case "--listen":
                    options.Listen = IPEndPoint.TryParse(Value(), out var listen) ? listen : throw new ArgumentException($"{flag}: expected HOST:PORT");
                    break;
                default:
                    throw new ArgumentException($"unknown argument '{flag}'");
            }
        }

        options.Credential = credentialFile is not null ? File.ReadAllText(credentialFile).Trim() : environment("CONTROLPLANE_PROBER_CREDENTIAL");
        return options.Validate();
    }

    // 60s, 500ms, 2m, or plain seconds.
    private static TimeSpan Duration(string flag, string text)
    {
        (string number, double scale) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 0.001)
            : text.EndsWith('s') ? (text[..^1], 1)
            : text.EndsWith('m') ? (text[..^1], 60)
            : (text, 1);
        return double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) && value * scale <= 86_400
            ? TimeSpan.FromSeconds(value * scale)
            : throw new ArgumentException($"{flag}: expected a duration such as 60s, 500ms or 2m (at most a day), got '{text}'");
    }
}
