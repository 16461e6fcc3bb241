namespace ControlPlane.Service.Tests;

public sealed class ControlPlaneOptionsTests
{
    [Theory]
    [InlineData(9)]
    [InlineData(3601)]
    public void The_learned_state_persist_period_is_range_checked_and_named(int seconds)
    {
        var options = new ControlPlaneOptions { LearnedStatePersistPeriod = TimeSpan.FromSeconds(seconds) };

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => options.Validate());
        Assert.Contains("ControlPlaneOptions.LearnedStatePersistPeriod", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_default_persists_learned_state_every_minute()
    {
        Assert.Equal(TimeSpan.FromMinutes(1), new ControlPlaneOptions().Validate().LearnedStatePersistPeriod);
    }
}
