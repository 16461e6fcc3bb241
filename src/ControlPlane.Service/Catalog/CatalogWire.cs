using System.Globalization;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.Catalog;

/// <summary>Catalog views as gRPC <c>controlplane.v1.CatalogEntry</c> messages.</summary>
internal static class CatalogWire
{
    public static Wire.CatalogList ToWire(IEnumerable<CatalogEntryView> entries)
    {
        var list = new Wire.CatalogList();
        list.Entries.AddRange(entries.Select(ToWire));
        return list;
    }

    public static Wire.CatalogEntry ToWire(CatalogEntryView e)
    {
        var wire = new Wire.CatalogEntry
        {
            Id = e.Id,
            Provider = e.Provider,
            Model = e.Model,
            ModelVersion = e.ModelVersion,
            AcceptedAlias = e.AcceptedAlias,
            Region = e.Region,
            OwnerTeam = e.OwnerTeam,
            OnCall = e.OnCall,
            Price = new Wire.CatalogPrice
            {
                InputPer1K = e.Price.InputPer1k.ToString(CultureInfo.InvariantCulture),
                OutputPer1K = e.Price.OutputPer1k.ToString(CultureInfo.InvariantCulture),
            },
            Limits = new Wire.CatalogLimits { Tpm = e.Limits.Tpm, Rpm = e.Limits.Rpm },
            OnModelChange = e.OnModelChange,
        };
        wire.PrimaryOf.AddRange(e.PrimaryOf);
        wire.FallbackOf.AddRange(e.FallbackOf);
        if (e.Deprecation is { } d)
        {
            wire.Deprecation = new Wire.CatalogDeprecation
            {
                Date = d.Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                MigrateTo = d.MigrateTo ?? "",
                DaysLeft = d.DaysLeft,
                Notice = d.Notice ?? "",
            };
        }

        if (e.ModelChange is { } m)
        {
            wire.ModelChange = new Wire.CatalogModelChange
            {
                Observed = m.Observed,
                SinceUnixMs = m.Since.ToUnixTimeMilliseconds(),
                Acknowledged = m.Acknowledged,
                Pinned = m.Pinned,
                AcknowledgedBy = m.AcknowledgedBy ?? "",
                AcknowledgedAtUnixMs = m.AcknowledgedAt?.ToUnixTimeMilliseconds() ?? 0,
                Drained = m.Drained,
            };
        }

        wire.Alerts.AddRange(e.Alerts.Select(a => new Wire.CatalogAlert
        {
            Kind = a.Kind,
            EndpointId = a.EndpointId,
            Severity = a.Severity,
            OwnerTeam = a.OwnerTeam,
            OnCall = a.OnCall,
            Message = a.Message,
            SinceUnixMs = a.Since?.ToUnixTimeMilliseconds() ?? 0,
        }));
        return wire;
    }
}
