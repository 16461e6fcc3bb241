using System.Globalization;

namespace ControlPlane.Grpc.Benchmarks;

/// <summary>Entry point: <c>dotnet run -c Release --project bench/ControlPlane.Grpc.Benchmarks -- [--seconds N]
/// [--rounds N] [--concurrency N] [--warmup N] [--payload BYTES] [--stream-count N]</c>.</summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (!BenchmarkSettings.TryParse(args, out var settings, out var error))
        {
            await Console.Error.WriteLineAsync(error);
            await Console.Error.WriteLineAsync(BenchmarkSettings.Usage);
            return 2;
        }

        if (settings.ShowHelp)
        {
            Console.WriteLine(BenchmarkSettings.Usage);
            return 0;
        }

        await using var run = await BenchmarkRun.StartAsync(settings);
        var report = await run.ExecuteAsync(line => Console.Error.WriteLine(line));
        Console.WriteLine(report.ToMarkdown(settings));
        return 0;
    }
}

/// <summary>Command-line settings of a benchmark run.</summary>
internal sealed record BenchmarkSettings
{
    public const string Usage = """
        Usage: ControlPlane.Grpc.Benchmarks [--seconds N] [--rounds N] [--concurrency N] [--warmup N] [--payload BYTES] [--stream-count N]
          --seconds N       measured duration of each scenario per round (default 10)
          --rounds N        rounds of baseline / gRPC unary / gRPC server-streaming, alternated (default 3)
          --concurrency N   concurrent callers (default 64)
          --warmup N        warm-up seconds per scenario before the first round (default 3)
          --payload BYTES   request payload size (default 64)
          --stream-count N  messages per server-streaming call (default 1000)
        """;

    public int Seconds { get; init; } = 10;
    public int Rounds { get; init; } = 3;
    public int Concurrency { get; init; } = 64;
    public int WarmupSeconds { get; init; } = 3;
    public int PayloadBytes { get; init; } = 64;
    public int StreamCount { get; init; } = 1000;
    public bool ShowHelp { get; init; }

    public static bool TryParse(string[] args, out BenchmarkSettings settings, out string error)
    {
        settings = new BenchmarkSettings();
        error = "";
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name is "-h" or "--help")
            {
                settings = settings with { ShowHelp = true };
                continue;
            }

            if (i + 1 >= args.Length || !int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < 0)
            {
                error = $"Option '{name}' needs a non-negative integer value.";
                return false;
            }

            i++;
            switch (name)
            {
                case "--seconds" when value > 0: settings = settings with { Seconds = value }; break;
                case "--rounds" when value > 0: settings = settings with { Rounds = value }; break;
                case "--concurrency" when value > 0: settings = settings with { Concurrency = value }; break;
                case "--warmup": settings = settings with { WarmupSeconds = value }; break;
                case "--payload": settings = settings with { PayloadBytes = value }; break;
                case "--stream-count" when value > 0: settings = settings with { StreamCount = value }; break;
                default:
                    error = $"Unknown option or out-of-range value: '{name} {value}'.";
                    return false;
            }
        }

        return true;
    }
}
