using ControlPlane.Service.Audit;
using ControlPlane.Service.Grains;
using Wire = ControlPlane.Contracts.V1;

namespace ControlPlane.Service.Admin;

/// <summary>Audit types on the gRPC wire.</summary>
internal static class AuditWire
{
    public static Wire.AuditEntry ToWire(AuditEntry e)
    {
        var wire = new Wire.AuditEntry
        {
            Sequence = e.Sequence,
            AtUnixMs = e.At.ToUnixTimeMilliseconds(),
            AtUtcTicks = e.At.UtcTicks,
            Actor = e.Actor?.Principal ?? "",
            CredentialId = e.Actor?.CredentialId ?? "",
            Source = e.Actor?.Source ?? "",
            RequestId = e.Actor?.RequestId ?? "",
            Action = e.Action ?? "",
            Target = e.Target ?? "",
            Reason = e.Reason ?? "",
            Detail = string.IsNullOrEmpty(e.Before) ? e.After ?? "" : $"was {e.Before}; now {e.After}",
            Before = e.Before ?? "",
            After = e.After ?? "",
            PreviousHash = e.PreviousHash ?? "",
            Hash = e.Hash ?? "",
        };
        wire.Roles.Add(e.Actor?.Roles ?? []);
        if (e.EvalRef is { } evalRef)
        {
            wire.EvalRef = evalRef;
        }

        if (e.ChangeId is { } changeId)
        {
            wire.ChangeId = changeId;
        }

        return wire;
    }

    public static Wire.AuditVerification ToWire(AuditVerification v)
    {
        var wire = new Wire.AuditVerification { Ok = v.Ok, Entries = v.Entries, Head = v.Head, LastSequence = v.LastSequence };
        if (v.FirstBroken is { } broken)
        {
            wire.FirstBroken = new Wire.AuditBreak { Sequence = broken.Sequence, Reason = broken.Reason };
        }

        return wire;
    }
}
