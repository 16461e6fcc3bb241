using ControlPlane.Contracts.V1;
using ControlPlane.Service.Security;
using Grpc.Core;

namespace ControlPlane.Service.DataPlane;

/// <summary>What the caller of ReportOutcome(s) may report, read once per call from its roles: synthetic outcomes
/// (<c>Outcome.synthetic</c>) only with <see cref="Roles.Prober"/>; routed outcomes with <see cref="Roles.DataPlane"/>
/// or <see cref="Roles.Reporter"/> (a prober-only credential reports synthetic outcomes and nothing else).</summary>
internal readonly struct ReportOutcomeCaller
{
    private readonly bool _synthetic;
    private readonly bool _routed;

    private ReportOutcomeCaller(bool synthetic, bool routed)
    {
        _synthetic = synthetic;
        _routed = routed;
    }

    /// <summary>The roles of the call's authenticated principal.</summary>
    public static ReportOutcomeCaller Of(ServerCallContext context)
    {
        var user = context.GetHttpContext().User;
        return new(user.IsInRole(Roles.Prober), user.IsInRole(Roles.DataPlane) || user.IsInRole(Roles.Reporter));
    }

    /// <summary>Throws <see cref="RoutingRequestException"/> (PERMISSION_DENIED / INVALID_ARGUMENT, field
    /// <c>synthetic</c>) when the caller may not report <paramref name="outcome"/>.</summary>
    public void Admit(Outcome outcome)
    {
        if (outcome.Synthetic && !_synthetic)
        {
            throw new RoutingRequestException(RequestErrorKind.PermissionDenied, "synthetic", "synthetic outcomes need the prober role");
        }

        if (!outcome.Synthetic && !_routed)
        {
            throw new RoutingRequestException(RequestErrorKind.InvalidArgument, "synthetic",
                "must be true: a caller with only the prober role reports synthetic outcomes only");
        }
    }
}
