using System.Globalization;
using ControlPlane.Fleet;
using ControlPlane.Shared;
using ControlPlane.Simulator.Scenario;

namespace ControlPlane.Simulator;

/// <summary>The simulator's command line (<c>docs/simulator.md</c>).</summary>
public static class Program
{
    private const string Usage = """
        usage: ControlPlane.Simulator --fleet FILE [--scenario FILE] [--seed N] [--host 127.0.0.1] [--admin-port P]
                                      [--base-port P] [--upstreams-out FILE] [--latency-scale X] [--hold]
        """;

    /// <summary>Runs the simulator until Ctrl+C (or SIGTERM). Exit codes: 0 stopped, 2 bad arguments or files.</summary>
    public static async Task<int> Main(string[] args)
    {
        SimulatorOptions options;
        try
        {
            options = Parse(args);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync(e.Message + Environment.NewLine + Usage).ConfigureAwait(false);
            return 2;
        }

        using var stop = new ConsoleStop();

        SimulatorHost host;
        try
        {
            host = await SimulatorHost.StartAsync(options, stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FleetConfigException or ScenarioFileException or ArgumentException or IOException)
        {
            await Console.Error.WriteLineAsync(e.Message).ConfigureAwait(false);
            return 2;
        }

        await using (host.ConfigureAwait(false))
        {
            Console.WriteLine($"simulator: seed {host.Seed}, admin {host.AdminUri.ToString().TrimEnd('/')}");
            foreach (var (id, uri) in host.EndpointUris.OrderBy(e => e.Key, StringComparer.Ordinal))
            {
                Console.WriteLine($"  {id} {uri.ToString().TrimEnd('/')}");
            }

            if (options.UpstreamsOut is { } upstreams)
            {
                Console.WriteLine($"upstreams: {Path.GetFullPath(upstreams)}");
            }

            await stop.WaitAsync().ConfigureAwait(false);
        }

        return 0;
    }

    /// <summary>Parses the command line into options (files are loaded at start).</summary>
    /// <exception cref="ArgumentException">An unknown flag, a missing value or a malformed number.</exception>
    public static SimulatorOptions Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = new SimulatorOptions();
        for (int i = 0; i < args.Count; i++)
        {
            string flag = args[i];
            if (flag == "--hold")
            {
                options.Hold = true;
                continue;
            }

            if (i + 1 >= args.Count)
            {
                throw new ArgumentException($"{flag} needs a value.");
            }

            string value = args[++i];
            switch (flag)
            {
                case "--fleet":
                    options.FleetPath = value;
                    break;
                case "--scenario":
                    options.ScenarioPath = value;
                    break;
                case "--seed":
                    options.Seed = Integer(flag, value);
                    break;
                case "--host":
                    options.Host = value;
                    break;
                case "--admin-port":
                    options.AdminPort = Integer(flag, value);
                    break;
                case "--base-port":
                    options.BasePort = Integer(flag, value);
                    break;
                case "--upstreams-out":
                    options.UpstreamsOut = value;
                    break;
                case "--latency-scale":
                    options.LatencyScale = double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double scale)
                        ? scale
                        : throw new ArgumentException($"--latency-scale must be a number, got '{value}'.");
                    break;
                default:
                    throw new ArgumentException($"Unknown option '{flag}'.");
            }
        }

        options.Validate();
        return options;
    }

    private static int Integer(string flag, string value) =>
        int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int parsed)
            ? parsed
            : throw new ArgumentException($"{flag} must be an integer, got '{value}'.");
}
