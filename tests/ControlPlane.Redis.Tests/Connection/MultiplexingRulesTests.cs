using ControlPlane.Redis.Connection;

namespace ControlPlane.Redis.Tests.Connection;

public sealed class MultiplexingRulesTests
{
    [Theory]
    [InlineData("SUBSCRIBE")]
    [InlineData("psubscribe")]
    [InlineData("MULTI")]
    [InlineData("exec")]
    [InlineData("WATCH")]
    [InlineData("SELECT")]
    [InlineData("AUTH")]
    [InlineData("HELLO")]
    [InlineData("MONITOR")]
    [InlineData("QUIT")]
    public void Refuses_commands_that_would_change_the_shared_connection(string command)
    {
        var error = Assert.Throws<ArgumentException>(() => MultiplexingRules.EnsureAllowed(command, ["x"]));

        Assert.Contains("multiplexed connection", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_client_reply_but_allows_other_client_subcommands()
    {
        Assert.Throws<ArgumentException>(() => MultiplexingRules.EnsureAllowed("CLIENT", ["reply", "OFF"]));
        MultiplexingRules.EnsureAllowed("CLIENT", ["GETNAME"]);
        MultiplexingRules.EnsureAllowed("CLIENT", []);
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("EVALSHA")]
    [InlineData("PUBLISH")]
    [InlineData("BLPOP")]
    public void Allows_ordinary_commands(string command) => MultiplexingRules.EnsureAllowed(command, ["k"]);
}
