using ControlPlane.Domain.Endpoints;
using ControlPlane.Service.Audit;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Security;

namespace ControlPlane.Service.Admin;

/// <summary>The admin operations behind both the HTTP/JSON and the gRPC admin APIs: validation, the grain
/// call, then the audit entry. Every change is persisted by the grain before it answers.</summary>
internal sealed class AdminOperations(FleetCatalog catalog, IGrainFactory grains, TimeProvider time)
{
    /// <summary>Longest override expiry accepted (one year).</summary>
    internal const long MaxTtlSeconds = 366L * 24 * 3600;

    internal const int MaxReasonLength = 1024;

    internal const int MaxAuditPage = 1000;

    public async Task<FleetView> GetFleetAsync()
    {
        var summary = await grains.GetGrain<IFleetGrain>(FleetGrain.Key).GetSummaryAsync();
        var endpoints = await Task.WhenAll(catalog.Fleet.Endpoints.Select(e => grains.GetGrain<IProviderEndpointGrain>(e.Id).GetDetailsAsync()));
        var classes = await Task.WhenAll(catalog.Fleet.Classes.Select(c => grains.GetGrain<IWorkloadClassGrain>(c.Name).GetDetailsAsync()));
        var now = time.GetUtcNow();
        return new FleetView(summary.Name, summary.Version, summary.Source, summary.LoadedAt, summary.Deprecations,
            [.. endpoints.Select(d => EndpointView.From(d, now))], [.. classes.Select(ClassView.From)])
        {
            Alerts = Catalog.CatalogAlertView.ForFleet(catalog, endpoints, Catalog.DeprecationStage.Today(time)),
        };
    }

    public async Task<EndpointView> GetEndpointAsync(string id)
    {
        RequireEndpoint(id);
        return EndpointView.From(await grains.GetGrain<IProviderEndpointGrain>(id).GetDetailsAsync(), time.GetUtcNow());
    }

    public async Task<ClassView> GetClassAsync(string name)
    {
        if (!catalog.Classes.ContainsKey(name))
        {
            throw new AdminException(AdminErrorKind.NotFound, "name", $"unknown workload class '{name}'");
        }

        return ClassView.From(await grains.GetGrain<IWorkloadClassGrain>(name).GetDetailsAsync());
    }

    public async Task<EndpointView> SetBreakerAsync(string id, BreakerCommand command, AdminActor actor)
    {
        ArgumentNullException.ThrowIfNull(actor);
        RequireEndpoint(id);
        OverrideKind? kind = command.State switch
        {
            "open" => OverrideKind.ForceOpen,
            "closed" => OverrideKind.ForceClosed,
            "auto" => null,
            null or "" => throw new AdminException(AdminErrorKind.Invalid, "state", "is required: one of open, closed, auto"),
            _ => throw new AdminException(AdminErrorKind.Invalid, "state", $"unknown state '{command.State}'; expected one of open, closed, auto"),
        };
        var reason = RequireReason(command.Reason);
        var ttl = Ttl(command.TtlSeconds);
        if (kind is null && ttl is not null)
        {
            throw new AdminException(AdminErrorKind.Invalid, "ttlSeconds", "does not apply to state 'auto'");
        }

        var action = kind switch
        {
            OverrideKind.ForceOpen => "breaker.force_open",
            OverrideKind.ForceClosed => "breaker.force_closed",
            _ => "breaker.auto",
        };
        var details = await grains.GetGrain<IProviderEndpointGrain>(id).ChangeOverrideAsync(new OverrideChange(kind, actor, reason, ttl, action));
        return EndpointView.From(details, time.GetUtcNow());
    }

    public async Task<EndpointView> DrainAsync(string id, DrainCommand command, AdminActor actor)
    {
        ArgumentNullException.ThrowIfNull(actor);
        RequireEndpoint(id);
        var reason = RequireReason(command.Reason);
        var ttl = Ttl(command.TtlSeconds);
        var details = await grains.GetGrain<IProviderEndpointGrain>(id)
            .ChangeOverrideAsync(new OverrideChange(OverrideKind.Drain, actor, reason, ttl, "endpoint.drain"));
        return EndpointView.From(details, time.GetUtcNow());
    }

    public async Task<EndpointView> UndrainAsync(string id, DrainCommand command, AdminActor actor)
    {
        ArgumentNullException.ThrowIfNull(actor);
        RequireEndpoint(id);
        var reason = RequireReason(command.Reason);
        if (command.TtlSeconds is not null)
        {
            throw new AdminException(AdminErrorKind.Invalid, "ttlSeconds", "does not apply to undrain");
        }

        // The grain checks that the endpoint is drained in the same turn that clears it.
        var details = await grains.GetGrain<IProviderEndpointGrain>(id)
            .ChangeOverrideAsync(new OverrideChange(null, actor, reason, null, "endpoint.undrain", RequireCurrent: OverrideKind.Drain));
        return EndpointView.From(details, time.GetUtcNow());
    }

    public async Task<IReadOnlyList<AuditEntry>> GetAuditAsync(int? limit)
    {
        var take = limit ?? 100;
        if (take is < 1 or > MaxAuditPage)
        {
            throw new AdminException(AdminErrorKind.Invalid, "limit", $"must be between 1 and {MaxAuditPage}");
        }

        return await grains.GetGrain<IAuditTrailGrain>(AuditTrailGrain.Key).ListAsync(take);
    }

    /// <summary>A page of the audit trail, newest first, filtered; <see cref="AuditPage.Next"/> continues it.</summary>
    public Task<AuditPage> QueryAuditAsync(AuditQuery query) => new AuditReader(grains).PageAsync(AuditQueries.Validate(query));

    /// <summary>Every matching entry, oldest first, one sealed segment in memory at a time (validated before the first
    /// entry, so bad input fails before anything is streamed).</summary>
    public IAsyncEnumerable<AuditEntry> ExportAudit(AuditQuery query, CancellationToken cancellationToken) =>
        new AuditReader(grains).ExportAsync(AuditQueries.Validate(query), cancellationToken);

    /// <summary>Walks the whole stored trail and reports the first break.</summary>
    public Task<AuditVerification> VerifyAuditAsync() => grains.GetGrain<IAuditTrailGrain>(AuditTrailGrain.Key).VerifyAsync();

    // Free text reaches the audit trail, logs and terminals: control characters (line breaks and terminal escapes
    // among them) and bidirectional overrides, which can make a log line or an audit entry read as something else,
    // are refused rather than stored.
    internal static void RequirePrintable(string text, string field)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsControl(c) || c is >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069' or '\u200E' or '\u200F' or '\u061C'
                || (char.IsSurrogate(c) && !char.IsSurrogatePair(text, i > 0 && char.IsLowSurrogate(c) ? i - 1 : i)))
            {
                throw new AdminException(AdminErrorKind.Invalid, field,
                    $"must not contain control characters, bidirectional overrides or unpaired surrogates (U+{(int)c:X4} at {i})");
            }
        }
    }

    internal static string RequireReason(string? reason)
    {
        if (string.IsNullOrWhiteSpace(reason))
        {
            throw new AdminException(AdminErrorKind.Invalid, "reason", "is required: why is this change made");
        }

        if (reason.Length > MaxReasonLength)
        {
            throw new AdminException(AdminErrorKind.Invalid, "reason", $"must be at most {MaxReasonLength} characters");
        }

        RequirePrintable(reason, "reason");
        return reason.Trim();
    }

    internal static TimeSpan? Ttl(long? seconds) => seconds switch
    {
        null => null,
        < 0 => throw new AdminException(AdminErrorKind.Invalid, "ttlSeconds", $"must not be negative (was {seconds})"),
        0 => throw new AdminException(AdminErrorKind.Invalid, "ttlSeconds", "must be positive; omit it for no expiry"),
        > MaxTtlSeconds => throw new AdminException(AdminErrorKind.Invalid, "ttlSeconds", $"must be at most {MaxTtlSeconds} (one year)"),
        _ => TimeSpan.FromSeconds(seconds.Value),
    };

    private void RequireEndpoint(string id)
    {
        if (!catalog.Endpoints.ContainsKey(id))
        {
            throw new AdminException(AdminErrorKind.NotFound, "id", $"unknown endpoint '{id}'");
        }
    }
}
