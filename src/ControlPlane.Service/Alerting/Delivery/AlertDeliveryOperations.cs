using ControlPlane.Service.Admin;
using ControlPlane.Service.Security;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Service.Alerting.Delivery;

/// <summary>The deliveries view and the test notice of the admin API.</summary>
internal sealed partial class AlertDeliveryOperations(IGrainFactory grains, FleetCatalog catalog, ILogger<AlertDeliveryOperations> logger)
{
    /// <summary>Longest test reason accepted.</summary>
    public const int MaxReasonLength = 500;

    /// <summary>Every team of the fleet file's <c>teams:</c> with its delivery counts.</summary>
    public async Task<DeliveriesView> GetDeliveriesAsync()
    {
        var teams = catalog.Fleet.Alerting.Teams;
        var views = await Task.WhenAll(teams.Select(t => grains.GetGrain<IAlertOutboxGrain>(t.Name).GetDeliveriesAsync()));
        return new DeliveriesView(views);
    }

    /// <summary>Sends a test notice through <paramref name="team"/>'s enabled receivers.</summary>
    public async Task<TestNoticeResult> SendTestAsync(string? team, string? reason, AdminActor actor)
    {
        ArgumentNullException.ThrowIfNull(actor);
        if (string.IsNullOrWhiteSpace(team))
        {
            throw new AdminException(AdminErrorKind.Invalid, "team", "is required");
        }

        if (string.IsNullOrWhiteSpace(reason))
        {
            throw new AdminException(AdminErrorKind.Invalid, "reason", "is required");
        }

        if (reason.Length > MaxReasonLength)
        {
            throw new AdminException(AdminErrorKind.Invalid, "reason", $"must be at most {MaxReasonLength} characters");
        }

        if (!catalog.Fleet.Alerting.TryGetTeam(team, out var entry))
        {
            throw new AdminException(AdminErrorKind.NotFound, "team", team.Length > 128 ? "no such team in the fleet file's teams:" : $"no team '{team}' in the fleet file's teams:");
        }

        int queued = await grains.GetGrain<IAlertOutboxGrain>(entry.Name).SendTestAsync(actor.Principal, reason);
        LogTestSent(logger, entry.Name, actor.Principal, queued);
        return new TestNoticeResult(entry.Name, queued);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Test alert notice queued for team {Team} by {Principal} to {Receivers} receivers")]
    private static partial void LogTestSent(ILogger logger, string team, string principal, int receivers);
}

/// <summary>The answer of <c>GET /admin/v1/alerts/deliveries</c>.</summary>
/// <param name="Teams">Every team of the fleet file's <c>teams:</c>, in file order.</param>
public sealed record DeliveriesView(IReadOnlyList<TeamDeliveriesView> Teams);

/// <summary>The answer of <c>POST /admin/v1/alerts/test</c>.</summary>
/// <param name="Team">The team.</param>
/// <param name="Queued">How many receivers the test notice was queued for.</param>
public sealed record TestNoticeResult(string Team, int Queued);
