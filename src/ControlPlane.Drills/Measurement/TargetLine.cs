namespace ControlPlane.Drills.Measurement;

/// <summary>One target of the drill and its verdict.</summary>
/// <param name="Target">Which target (<c>route_around</c>, <c>customer_chat_availability</c>, <c>legal_draft_primary_only</c>,
/// <c>budgets</c>, <c>recovery</c>).</param>
/// <param name="Pass">True: PASS; false: FAIL; null: not applicable to this scenario.</param>
/// <param name="Detail">The figure and its limit, for a human.</param>
public sealed record TargetLine(string Target, bool? Pass, string Detail)
{
    /// <summary>PASS, FAIL or N/A.</summary>
    public string Verdict => Pass switch { true => "PASS", false => "FAIL", null => "N/A" };

    /// <summary>The line as the report prints it.</summary>
    public override string ToString() => $"{Verdict,-4} {Target}: {Detail}";
}
