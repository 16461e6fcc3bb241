using Microsoft.Extensions.Options;

namespace ControlPlane.Grains;

/// <summary>Settings of a grain silo. Validated when the silo is built.</summary>
public sealed class GrainRuntimeOptions
{
    /// <summary>This silo's id: unique among the live members of a cluster.</summary>
    /// <value>Non-empty, at most 128 characters, no '/'. Defaults to "local".</value>
    public string SiloId { get; set; } = "local";

    /// <summary>How long an activation may go without calls before idle collection deactivates it.</summary>
    /// <value>Between 1 s and 7 days. Defaults to 15 min.</value>
    public TimeSpan IdleDeactivationAge { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How often idle collection looks for idle activations.</summary>
    /// <value>Between 100 ms and <see cref="IdleDeactivationAge"/>. Defaults to 1 min.</value>
    public TimeSpan CollectionInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a caller waits for a grain call before <see cref="GrainCallTimeoutException"/>.</summary>
    /// <value>Between 10 ms and 1 h, or <see cref="Timeout.InfiniteTimeSpan"/>. Defaults to 30 s.</value>
    public TimeSpan CallTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The cancellation deadline handed to state reads and OnActivateAsync.</summary>
    /// <value>Between 10 ms and 1 h. Defaults to 30 s.</value>
    public TimeSpan ActivationTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long graceful shutdown waits for queued turns and deactivations before giving up on the rest
    /// (a turn stuck forever must not hang the process).</summary>
    /// <value>Between 10 ms and 1 h. Defaults to 1 min.</value>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The cancellation deadline handed to OnDeactivateAsync.</summary>
    /// <value>Between 10 ms and 1 h. Defaults to 30 s.</value>
    public TimeSpan DeactivationTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Checks <see cref="GrainRuntimeOptions"/> ranges.</summary>
internal sealed class GrainRuntimeOptionsValidator : IValidateOptions<GrainRuntimeOptions>
{
    internal const int MaxSiloIdLength = 128;
    private static readonly TimeSpan s_minTimeout = TimeSpan.FromMilliseconds(10);

    public ValidateOptionsResult Validate(string? name, GrainRuntimeOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.SiloId) || options.SiloId.Length > MaxSiloIdLength || options.SiloId.Contains('/', StringComparison.Ordinal))
        {
            failures.Add($"SiloId must be non-empty, at most {MaxSiloIdLength} characters, without '/' (was '{options.SiloId}').");
        }

        Check(failures, nameof(options.IdleDeactivationAge), options.IdleDeactivationAge, TimeSpan.FromSeconds(1), TimeSpan.FromDays(7));
        Check(failures, nameof(options.CollectionInterval), options.CollectionInterval, TimeSpan.FromMilliseconds(100),
            options.IdleDeactivationAge > TimeSpan.FromMilliseconds(100) ? options.IdleDeactivationAge : TimeSpan.FromMilliseconds(100));
        if (options.CallTimeout != Timeout.InfiniteTimeSpan)
        {
            Check(failures, nameof(options.CallTimeout), options.CallTimeout, s_minTimeout, TimeSpan.FromHours(1));
        }

        Check(failures, nameof(options.ActivationTimeout), options.ActivationTimeout, s_minTimeout, TimeSpan.FromHours(1));
        Check(failures, nameof(options.ShutdownTimeout), options.ShutdownTimeout, s_minTimeout, TimeSpan.FromHours(1));
        Check(failures, nameof(options.DeactivationTimeout), options.DeactivationTimeout, s_minTimeout, TimeSpan.FromHours(1));
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void Check(List<string> failures, string name, TimeSpan value, TimeSpan min, TimeSpan max)
    {
        if (value < min || value > max)
        {
            failures.Add($"{name} must be between {min} and {max} (was {value}).");
        }
    }
}
