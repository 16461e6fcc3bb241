using System.Collections.Frozen;
using System.Globalization;
using System.Text.RegularExpressions;

namespace ControlPlane.Simulator.Scenario;

/// <summary>One field of a fault as written: its text, whether it was a quoted string, and where (for errors).</summary>
/// <param name="Text">The scalar's text (a JSON number's raw text).</param>
/// <param name="IsString">True for a quoted YAML scalar or a JSON string: numbers must not be strings.</param>
/// <param name="Line">1-based line of the value in its file; 0 for the admin API.</param>
/// <param name="Column">1-based column of the value in its file; 0 for the admin API.</param>
internal readonly record struct RawField(string Text, bool IsString, int Line, int Column);

/// <summary>A problem in one field of a fault.</summary>
internal readonly record struct FieldError(string Field, string Message, int Line, int Column);

/// <summary>
/// Turns a fault's fields (from a scenario file or a <c>POST /sim/v1/faults</c> body) into a <see cref="FaultSpec"/>:
/// one set of rules for both, so the file and the admin API accept the same faults.
/// </summary>
internal static partial class FaultFields
{
    /// <summary>Every field a fault may have.</summary>
    public static readonly string[] Keys =
        ["endpoint", "kind", "start", "end", "share", "mode", "retry_after", "tpm", "factor", "model_version", "output_factor"];

    /// <summary>The longest offset or Retry-After accepted (a week).</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromDays(7);

    private static readonly FrozenDictionary<string, FaultKind> Kinds = new Dictionary<string, FaultKind>(StringComparer.Ordinal)
    {
        ["outage"] = FaultKind.Outage,
        ["rate_limit"] = FaultKind.RateLimit,
        ["latency"] = FaultKind.Latency,
        ["quality_drift"] = FaultKind.QualityDrift,
        ["context_window"] = FaultKind.ContextWindow,
        ["model_change"] = FaultKind.ModelChange,
        ["runaway_output"] = FaultKind.RunawayOutput,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly FrozenDictionary<string, OutageMode> Modes = new Dictionary<string, OutageMode>(StringComparer.Ordinal)
    {
        ["http_500"] = OutageMode.Http500,
        ["http_503"] = OutageMode.Http503,
        ["refused"] = OutageMode.Refused,
        ["reset_mid_stream"] = OutageMode.ResetMidStream,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    // Which kind each kind-specific field belongs to.
    private static readonly FrozenDictionary<string, FaultKind> KindOnly = new Dictionary<string, FaultKind>(StringComparer.Ordinal)
    {
        ["mode"] = FaultKind.Outage,
        ["retry_after"] = FaultKind.RateLimit,
        ["tpm"] = FaultKind.RateLimit,
        ["factor"] = FaultKind.Latency,
        ["model_version"] = FaultKind.ModelChange,
        ["output_factor"] = FaultKind.RunawayOutput,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>The wire name of a kind (<c>rate_limit</c>).</summary>
    public static string Name(FaultKind kind) => Kinds.First(k => k.Value == kind).Key;

    /// <summary>The wire name of an outage mode (<c>http_500</c>).</summary>
    public static string Name(OutageMode mode) => Modes.First(m => m.Value == mode).Key;

    /// <summary>Parses a fault; null (with errors added) when any field is wrong. <paramref name="endpointExists"/> checks the id.</summary>
    public static FaultSpec? Parse(
        IReadOnlyDictionary<string, RawField> fields, Func<string, bool> endpointExists, List<FieldError> errors, string path, RawField at)
    {
        int before = errors.Count;
        string Field(string key) => path.Length == 0 ? key : path + "." + key;
        void Error(string key, string message, RawField where) => errors.Add(new FieldError(Field(key), message, where.Line, where.Column));

        string endpoint = "";
        if (!fields.TryGetValue("endpoint", out var endpointField))
        {
            Error("endpoint", "is required", at);
        }
        else if (endpointField.Text.Length == 0)
        {
            Error("endpoint", "must not be empty", endpointField);
        }
        else if (!endpointExists(endpointField.Text))
        {
            Error("endpoint", $"'{Truncate(endpointField.Text)}' is not an endpoint of the fleet", endpointField);
        }
        else
        {
            endpoint = endpointField.Text;
        }

        FaultKind kind = default;
        bool kindKnown = false;
        if (!fields.TryGetValue("kind", out var kindField))
        {
            Error("kind", "is required", at);
        }
        else if (!Kinds.TryGetValue(kindField.Text, out kind))
        {
            Error("kind", $"unknown kind '{Truncate(kindField.Text)}'; expected one of {string.Join(", ", Kinds.Keys.Order(StringComparer.Ordinal))}", kindField);
        }
        else
        {
            kindKnown = true;
        }

        if (kindKnown)
        {
            foreach (var (key, owner) in KindOnly)
            {
                if (owner != kind && fields.TryGetValue(key, out var stray))
                {
                    Error(key, $"applies only to kind {Name(owner)}, not {Name(kind)}", stray);
                }
            }
        }

        var start = TimeSpan.Zero;
        if (fields.TryGetValue("start", out var startField))
        {
            if (TryDuration(startField, out var parsedStart, out string? startProblem))
            {
                start = parsedStart;
            }
            else
            {
                Error("start", startProblem!, startField);
            }
        }

        TimeSpan? end = null;
        if (fields.TryGetValue("end", out var endField))
        {
            if (!TryDuration(endField, out var parsedEnd, out string? endProblem))
            {
                Error("end", endProblem!, endField);
            }
            else if (parsedEnd <= start)
            {
                Error("end", $"must be after start ({Format(start)})", endField);
            }
            else
            {
                end = parsedEnd;
            }
        }

        double share = 1.0;
        if (fields.TryGetValue("share", out var shareField) && TryNumber(shareField, "share", Error, out share) && share is not (> 0 and <= 1))
        {
            Error("share", "must be greater than 0 and at most 1", shareField);
        }

        var mode = OutageMode.Http500;
        if (fields.TryGetValue("mode", out var modeField) && kind == FaultKind.Outage && !Modes.TryGetValue(modeField.Text, out mode))
        {
            Error("mode", $"unknown mode '{Truncate(modeField.Text)}'; expected one of {string.Join(", ", Modes.Keys.Order(StringComparer.Ordinal))}", modeField);
        }

        if (kindKnown && kind == FaultKind.Outage && mode == OutageMode.Refused && share < 1 && fields.ContainsKey("share"))
        {
            Error("share", "a refused port refuses every connection: share must be 1", shareField);
        }

        var retryAfter = TimeSpan.FromSeconds(5);
        if (fields.TryGetValue("retry_after", out var retryField) && kind == FaultKind.RateLimit)
        {
            if (!TryDuration(retryField, out retryAfter, out string? retryProblem))
            {
                Error("retry_after", retryProblem!, retryField);
            }
            else if (retryAfter < TimeSpan.FromSeconds(1))
            {
                Error("retry_after", "must be at least 1s (Retry-After is in whole seconds)", retryField);
            }
        }

        long? tpm = null;
        if (fields.TryGetValue("tpm", out var tpmField) && kind == FaultKind.RateLimit)
        {
            if (tpmField.IsString || !long.TryParse(tpmField.Text.Replace("_", "", StringComparison.Ordinal), NumberStyles.None, CultureInfo.InvariantCulture, out long parsedTpm))
            {
                Error("tpm", $"expected a positive integer, got '{Truncate(tpmField.Text)}'", tpmField);
            }
            else if (parsedTpm is < 1 or > 1_000_000_000_000)
            {
                Error("tpm", "must be between 1 and 1000000000000", tpmField);
            }
            else
            {
                tpm = parsedTpm;
            }
        }

        double factor = 5;
        if (fields.TryGetValue("factor", out var factorField) && kind == FaultKind.Latency
            && TryNumber(factorField, "factor", Error, out factor) && factor is not (> 1 and <= 100))
        {
            Error("factor", "must be greater than 1 and at most 100", factorField);
        }

        string? modelVersion = null;
        if (kindKnown && kind == FaultKind.ModelChange)
        {
            if (!fields.TryGetValue("model_version", out var versionField))
            {
                Error("model_version", "is required for kind model_change", at);
            }
            else if (versionField.Text.Length is 0 or > 200 || versionField.Text.Any(char.IsControl))
            {
                Error("model_version", "must be 1 to 200 printable characters", versionField);
            }
            else
            {
                modelVersion = versionField.Text;
            }
        }

        double outputFactor = 8;
        if (fields.TryGetValue("output_factor", out var outputField) && kind == FaultKind.RunawayOutput
            && TryNumber(outputField, "output_factor", Error, out outputFactor) && outputFactor is not (> 1 and <= 100))
        {
            Error("output_factor", "must be greater than 1 and at most 100", outputField);
        }

        if (errors.Count > before)
        {
            return null;
        }

        return new FaultSpec
        {
            Endpoint = endpoint,
            Kind = kind,
            Start = start,
            End = end,
            Share = share,
            Mode = mode,
            RetryAfter = retryAfter,
            Tpm = tpm,
            Factor = factor,
            ModelVersion = modelVersion,
            OutputFactor = outputFactor,
        };
    }

    /// <summary>Parses <c>500ms</c>, <c>30s</c>, <c>2m</c>, <c>1h</c>, or a plain number of seconds, up to a week.</summary>
    public static bool TryDuration(RawField field, out TimeSpan value, out string? problem)
    {
        value = TimeSpan.Zero;
        problem = null;
        var match = DurationPattern().Match(field.Text);
        if (!match.Success || (field.IsString && !match.Groups[2].Success))
        {
            problem = $"expected a duration such as 500ms, 30s, 2m or 1h, got '{Truncate(field.Text)}'";
            return false;
        }

        double amount = double.Parse(match.Groups[1].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
        double seconds = match.Groups[2].Value switch
        {
            "ms" => amount / 1000,
            "m" => amount * 60,
            "h" => amount * 3600,
            _ => amount,
        };
        if (!(seconds <= MaxDuration.TotalSeconds))
        {
            problem = $"must be at most {MaxDuration.TotalDays:0} days";
            return false;
        }

        value = TimeSpan.FromMilliseconds(Math.Round(seconds * 1000));
        return true;
    }

    /// <summary>A duration as the files write it (<c>1500ms</c>, <c>30s</c>).</summary>
    public static string Format(TimeSpan value) =>
        value.Ticks % TimeSpan.TicksPerSecond == 0
            ? ((long)value.TotalSeconds).ToString(CultureInfo.InvariantCulture) + "s"
            : ((long)value.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + "ms";

    private static bool TryNumber(RawField field, string key, Action<string, string, RawField> error, out double value)
    {
        if (field.IsString
            || !double.TryParse(field.Text.Replace("_", "", StringComparison.Ordinal), NumberStyles.Float, CultureInfo.InvariantCulture, out value)
            || !double.IsFinite(value))
        {
            value = 0;
            error(key, $"expected a number, got '{Truncate(field.Text)}'", field);
            return false;
        }

        return true;
    }

    private static string Truncate(string text) => text.Length <= 64 ? text : text[..64] + "...";

    [GeneratedRegex(@"^([0-9]{1,9}(?:\.[0-9]{1,6})?)(ms|s|m|h)?$", RegexOptions.CultureInvariant)]
    private static partial Regex DurationPattern();
}
