namespace ControlPlane.Service.Catalog;

/// <summary>A deprecation notice raised for an endpoint: the stage reached, routed to the endpoint's owner.</summary>
/// <param name="EndpointId">The endpoint whose pinned version is retired.</param>
/// <param name="Date">The deprecation date.</param>
/// <param name="Stage"><c>90d</c>, <c>30d</c>, <c>7d</c> or <c>past</c> (<see cref="DeprecationStage"/>).</param>
/// <param name="DaysLeft">Days left when raised (0 or negative: past due).</param>
/// <param name="MigrateTo">The replacement endpoint, if chosen.</param>
/// <param name="OwnerTeam">The endpoint's owner team.</param>
/// <param name="OnCall">The endpoint's on-call.</param>
/// <param name="RaisedAt">When the notice was raised.</param>
[Immutable]
public sealed record DeprecationNotice(string EndpointId, DateOnly Date, string Stage, int DaysLeft, string? MigrateTo,
    string OwnerTeam, string OnCall, DateTimeOffset RaisedAt);
