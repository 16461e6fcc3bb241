using ControlPlane.Domain.Routing;

namespace ControlPlane.Domain.Tests.Routing;

public sealed class SpendCeilingReasonTests
{
    [Theory]
    [InlineData(RouteReason.RetryBudgetExhausted, 14, "retry_budget_exhausted")]
    [InlineData(RouteReason.SpendCeiling, 15, "spend_ceiling")]
    public void The_pre_assigned_reasons_keep_their_numbers_and_wire_names(RouteReason reason, int number, string name)
    {
        Assert.Equal(number, (int)reason);
        Assert.Equal(name, reason.ToWireName());
        Assert.True(RouteReasonNames.TryParse(name, out var parsed));
        Assert.Equal(reason, parsed);
    }
}
