using Microsoft.Extensions.Options;

namespace ControlPlane.Storage.Sqlite;

/// <summary>Checks <see cref="SqliteGrainStorageOptions"/> at start-up (named options, one per provider).</summary>
internal sealed class SqliteGrainStorageOptionsValidator : IValidateOptions<SqliteGrainStorageOptions>
{
    internal static readonly TimeSpan MaxBusyTimeout = TimeSpan.FromMinutes(5);
    internal static readonly TimeSpan MinCheckpointPeriod = TimeSpan.FromSeconds(1);
    internal static readonly TimeSpan MaxCheckpointPeriod = TimeSpan.FromHours(1);
    internal const int MaxCheckpointAfterWrites = 1_000_000;
    internal const long MaxJournalSizeLimitBytes = 1L << 30;

    public ValidateOptionsResult Validate(string? name, SqliteGrainStorageOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = Failures(options).Select(f => $"SqliteGrainStorageOptions '{name}': {f}").ToList();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Throws <see cref="OptionsValidationException"/> listing every invalid setting.</summary>
    internal static void ThrowIfInvalid(string name, SqliteGrainStorageOptions options)
    {
        var result = new SqliteGrainStorageOptionsValidator().Validate(name, options);
        if (result.Failed)
        {
            throw new OptionsValidationException(name, typeof(SqliteGrainStorageOptions), result.Failures);
        }
    }

    private static IEnumerable<string> Failures(SqliteGrainStorageOptions o)
    {
        if (string.IsNullOrWhiteSpace(o.Path))
        {
            yield return "Path is required.";
        }

        if (o.BusyTimeout < TimeSpan.Zero || o.BusyTimeout > MaxBusyTimeout)
        {
            yield return $"BusyTimeout must be between 0 and {MaxBusyTimeout} (was {o.BusyTimeout}).";
        }

        if (o.CheckpointPeriod < MinCheckpointPeriod || o.CheckpointPeriod > MaxCheckpointPeriod)
        {
            yield return $"CheckpointPeriod must be between {MinCheckpointPeriod} and {MaxCheckpointPeriod} (was {o.CheckpointPeriod}).";
        }

        if (o.CheckpointAfterWrites < 1 || o.CheckpointAfterWrites > MaxCheckpointAfterWrites)
        {
            yield return $"CheckpointAfterWrites must be between 1 and {MaxCheckpointAfterWrites} (was {o.CheckpointAfterWrites}).";
        }

        if (o.JournalSizeLimitBytes < 0 || o.JournalSizeLimitBytes > MaxJournalSizeLimitBytes)
        {
            yield return $"JournalSizeLimitBytes must be between 0 and {MaxJournalSizeLimitBytes} (was {o.JournalSizeLimitBytes}).";
        }
    }
}
