using ControlPlane.Service.Security;

namespace ControlPlane.Service.Catalog;

/// <summary>An operator's acknowledgement of an endpoint's silent model change.</summary>
/// <param name="Actor">Who (an operator).</param>
/// <param name="Reason">Why the change is acceptable (or what was done about it).</param>
[Immutable]
public sealed record ModelChangeAck(AdminActor Actor, string Reason);
