using System.Globalization;
using ControlPlane.Service;
using ControlPlane.Service.RequestLog;

namespace ControlPlane.Server;

// The request log's flags (docs/request-log.md): --request-log FILE|off, --request-log-sample RATE,
// --request-log-max-mb N, --request-log-files N, --request-log-otlp.
internal sealed partial record NodeOptions
{
    /// <summary>The request log's file name inside the data directory (the default file).</summary>
    public const string RequestLogFileName = "requests.jsonl";

    /// <summary>Largest <c>--request-log-max-mb</c> (100 GiB).</summary>
    public const int MaxRequestLogMb = 102_400;

    /// <summary>The request log file given with <c>--request-log</c>; null for the default.</summary>
    public string? RequestLogFile { get; init; }

    /// <summary><c>--request-log off</c>.</summary>
    public bool RequestLogOff { get; init; }

    /// <summary><c>--request-log-sample</c>.</summary>
    public double RequestLogSample { get; init; } = 1.0;

    /// <summary><c>--request-log-max-mb</c>.</summary>
    public int RequestLogMaxMb { get; init; } = 100;

    /// <summary><c>--request-log-files</c>.</summary>
    public int RequestLogFiles { get; init; } = 5;

    /// <summary><c>--request-log-otlp</c>.</summary>
    public bool RequestLogOtlp { get; init; }

    /// <summary>The file the node writes: the given one, else <c>DATA-DIR/requests.jsonl</c>; null when off (asked, or
    /// in-memory storage with no data directory given).</summary>
    public string? RequestLogPath =>
        RequestLogOff ? null
        : RequestLogFile ?? (Storage == ControlPlaneStorage.Memory && DataDirectory == DefaultDataDirectory ? null : Path.Combine(DataDirectory, RequestLogFileName));

    /// <summary>Copies the flags into the service's options.</summary>
    public void ApplyRequestLog(RequestLogOptions log)
    {
        log.Path = RequestLogPath;
        log.SampleRate = RequestLogSample;
        log.MaxFileBytes = RequestLogMaxMb * 1024L * 1024L;
        log.Files = RequestLogFiles;
        log.Otlp = RequestLogOtlp;
    }

    private static bool TryParseRequestLog(string arg, string? inlineValue, IReadOnlyList<string> args, ref int i, ref NodeOptions options, out string error)
    {
        error = "";
        if (arg == "--request-log-otlp")
        {
            if (inlineValue is not null)
            {
                error = "Option '--request-log-otlp' takes no value.";
                return false;
            }

            options = options with { RequestLogOtlp = true };
            return true;
        }

        var text = inlineValue ?? (i + 1 < args.Count ? args[++i] : null);
        if (string.IsNullOrWhiteSpace(text))
        {
            error = $"Option '{arg}' needs a value.";
            return false;
        }

        switch (arg)
        {
            case "--request-log" when text == "off":
                options = options with { RequestLogOff = true, RequestLogFile = null };
                return true;
            case "--request-log":
                if (text.Length > 4096 || text.Contains('\0', StringComparison.Ordinal))
                {
                    error = "Invalid --request-log: expected a file path (at most 4096 characters) or 'off'.";
                    return false;
                }

                options = options with { RequestLogFile = text, RequestLogOff = false };
                return true;
            case "--request-log-sample":
                if (text.Length > 32 || !double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) || !(rate is >= 0 and <= 1))
                {
                    error = $"Invalid --request-log-sample '{Clip(text)}': expected a rate from 0 to 1, e.g. 0.1.";
                    return false;
                }

                options = options with { RequestLogSample = rate };
                return true;
            case "--request-log-max-mb":
                if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var mb) || mb is < 1 or > MaxRequestLogMb)
                {
                    error = $"Invalid --request-log-max-mb '{Clip(text)}': expected a whole number of MiB from 1 to {MaxRequestLogMb}.";
                    return false;
                }

                options = options with { RequestLogMaxMb = mb };
                return true;
            default:
                if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var files) || files is < 1 or > 100)
                {
                    error = $"Invalid --request-log-files '{Clip(text)}': expected a whole number from 1 to 100.";
                    return false;
                }

                options = options with { RequestLogFiles = files };
                return true;
        }
    }

    private static string Clip(string text) => text.Length <= 32 ? text : text[..32] + "...";
}
