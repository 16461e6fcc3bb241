using ControlPlane.Service.DataPlane;

namespace ControlPlane.Service.Tests.DataPlane;

public sealed class LeaseTopUpOptionsTests
{
    [Theory]
    [InlineData(-1, 1_000, "MaxWait")]
    [InlineData(10_001, 1_000, "MaxWait")]
    [InlineData(1_000, 0, "MaxWaiting")]
    [InlineData(1_000, 100_001, "MaxWaiting")]
    [InlineData(1_000, 1_000, "EmptyBackoff", -1)]
    [InlineData(1_000, 1_000, "EmptyBackoff", 10_001)]
    public void Top_up_options_are_range_checked_and_named(int waitMs, int waiting, string field, int backoffMs = 500)
    {
        var options = new ControlPlaneOptions
        {
            TopUp = new LeaseTopUpOptions { MaxWait = TimeSpan.FromMilliseconds(waitMs), MaxWaiting = waiting, EmptyBackoff = TimeSpan.FromMilliseconds(backoffMs) },
        };

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => options.Validate());
        Assert.Contains("ControlPlaneOptions.TopUp." + field, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void By_default_a_refused_call_waits_up_to_a_second_and_zero_turns_top_ups_off()
    {
        Assert.Equal(TimeSpan.FromSeconds(1), new ControlPlaneOptions().Validate().TopUp.MaxWait);
        Assert.Equal(1_000, new ControlPlaneOptions().TopUp.MaxWaiting);
        Assert.Equal(TimeSpan.FromMilliseconds(500), new ControlPlaneOptions().TopUp.EmptyBackoff);
        new ControlPlaneOptions { TopUp = new LeaseTopUpOptions { MaxWait = TimeSpan.Zero } }.Validate();
    }
}
