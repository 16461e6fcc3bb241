using System.Text.Json;
using Microsoft.Extensions.Options;

namespace ControlPlane.Grains.Grpc;

/// <summary>Settings of the gRPC grain call transport. Validated when the transport is created.</summary>
public sealed class GrpcGrainTransportOptions
{
    /// <summary>How many times one call may be retried after it was rejected before execution (not the owner,
    /// silo not serving, connection refused) before it fails with a <see cref="GrainException"/>.</summary>
    /// <value>Between 0 and 32. Defaults to 3.</value>
    public int MaxRedirects { get; set; } = 3;

    /// <summary>The first pause before retrying when the rejecting silo named no new owner (the directory needs a
    /// moment to notice membership changes); it doubles on each such retry up to <see cref="MaxRetryDelay"/>.</summary>
    /// <value>Between 1 ms and 10 s. Defaults to 50 ms.</value>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>The longest pause between retries.</summary>
    /// <value>Between <see cref="RetryDelay"/> and 1 min. Defaults to 1 s.</value>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long opening a connection to another silo may take.</summary>
    /// <value>Between 10 ms and 1 min. Defaults to 5 s.</value>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Serializer options for arguments and results (web defaults with the reflection resolver when null).
    /// Grain and observer references are always encoded as their id.</summary>
    public JsonSerializerOptions? SerializerOptions { get; set; }
}

/// <summary>Checks <see cref="GrpcGrainTransportOptions"/> ranges.</summary>
internal sealed class GrpcGrainTransportOptionsValidator : IValidateOptions<GrpcGrainTransportOptions>
{
    public ValidateOptionsResult Validate(string? name, GrpcGrainTransportOptions options)
    {
        var failures = new List<string>();
        if (options.MaxRedirects is < 0 or > 32)
        {
            failures.Add($"MaxRedirects must be between 0 and 32 (was {options.MaxRedirects}).");
        }

        Check(failures, nameof(options.RetryDelay), options.RetryDelay, TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(10));
        Check(failures, nameof(options.MaxRetryDelay), options.MaxRetryDelay, options.RetryDelay, TimeSpan.FromMinutes(1));
        Check(failures, nameof(options.ConnectTimeout), options.ConnectTimeout, TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(1));
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
