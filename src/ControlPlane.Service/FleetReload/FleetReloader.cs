using ControlPlane.Service.Admin;
using ControlPlane.Service.Security;

namespace ControlPlane.Service.FleetReload;

/// <summary>Reloads the fleet file (the admin call and SIGHUP): reads this node's fleet file (bounded), and hands it to
/// the fleet generation grain, which validates it completely, refuses what a reload must not change, and applies the
/// rest as one versioned change on every node.</summary>
internal sealed class FleetReloader(FleetCatalog catalog, IGrainFactory grains)
{
    /// <summary>Reloads the file this node started with.</summary>
    /// <exception cref="FleetReloadRefusedException">Invalid file or refused change (nothing changed).</exception>
    public Task<FleetReloadOutcome> ReloadAsync(AdminActor actor, string? reason) => ReloadFileAsync(catalog.StartFleet.SourceName, actor, reason);

    /// <summary>Reloads <paramref name="path"/>.</summary>
    /// <exception cref="FleetReloadRefusedException">Invalid file or refused change (nothing changed).</exception>
    public async Task<FleetReloadOutcome> ReloadFileAsync(string path, AdminActor actor, string? reason)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var why = RequireReason(reason);
        string text;
        try
        {
            var length = new FileInfo(path).Length;
            if (length > FleetGenerations.MaxTextLength)
            {
                throw Refused($"{path}: is {length} bytes; a fleet file may have at most {FleetGenerations.MaxTextLength}");
            }

            text = await File.ReadAllTextAsync(path);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw Refused($"{path}: cannot read the file: {error.Message}");
        }

        var outcome = await grains.GetGrain<IFleetGenerationGrain>(FleetGenerationGrain.Key).ReloadAsync(path, text, actor, why);
        return outcome.Applied ? outcome : throw new FleetReloadRefusedException(outcome.Refusals);
    }

    private static FleetReloadRefusedException Refused(string message) => new([new FleetReloadProblem("fleet", message)]);

    private static string RequireReason(string? reason)
    {
        if (string.IsNullOrWhiteSpace(reason))
        {
            throw new AdminException(AdminErrorKind.Invalid, "reason", "is required: why is the fleet reloaded");
        }

        if (reason.Length > AdminOperations.MaxReasonLength)
        {
            throw new AdminException(AdminErrorKind.Invalid, "reason", $"must be at most {AdminOperations.MaxReasonLength} characters");
        }

        if (reason.Any(char.IsControl))
        {
            throw new AdminException(AdminErrorKind.Invalid, "reason", "must not contain control characters");
        }

        return reason.Trim();
    }
}

/// <summary>A reload that changed nothing: the file is invalid or changes what a reload must not; carries every reason.</summary>
public sealed class FleetReloadRefusedException : Exception
{
    /// <summary>Creates the exception from every reason.</summary>
    public FleetReloadRefusedException(IReadOnlyList<FleetReloadProblem> problems)
        : base("Fleet reload refused, nothing changed: " + string.Join("; ", (problems ?? []).Select(p => $"{p.Field}: {p.Message}")))
    {
        Problems = problems ?? [];
    }

    /// <summary>Creates an exception with a message only.</summary>
    public FleetReloadRefusedException()
        : this([])
    {
    }

    /// <summary>Creates an exception with a message only.</summary>
    public FleetReloadRefusedException(string message)
        : base(message)
    {
        Problems = [];
    }

    /// <summary>Creates an exception with a message and inner exception.</summary>
    public FleetReloadRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
        Problems = [];
    }

    /// <summary>Every reason, in the order found.</summary>
    public IReadOnlyList<FleetReloadProblem> Problems { get; }
}
