namespace ControlPlane.Redis.Tests;

public sealed class RedisOptionsTests
{
    [Fact]
    public void Defaults_are_valid()
    {
        var options = new RedisOptions();

        options.Validate();

        Assert.Equal("127.0.0.1:6379", options.Endpoint);
        Assert.Equal(TimeSpan.FromSeconds(5), options.CommandTimeout);
        Assert.Equal(TimeSpan.FromSeconds(5), options.ConnectTimeout);
        Assert.True(options.QueueWhileDisconnected);
        Assert.True(new RedisOptionsValidator().Validate(null, options).Succeeded);
    }

    [Theory]
    [InlineData("localhost:6380", "localhost", 6380)]
    [InlineData("[::1]:7000", "::1", 7000)]
    [InlineData("10.0.0.5:1", "10.0.0.5", 1)]
    public void Parses_endpoints(string endpoint, string host, int port)
    {
        var options = new RedisOptions { Endpoint = endpoint };

        options.Validate();

        Assert.Equal((host, port), options.ParsedEndpoint());
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData(":6379")]
    [InlineData("host:0")]
    [InlineData("host:65536")]
    [InlineData("host:-1")]
    [InlineData("host:abc")]
    public void Rejects_bad_endpoints(string endpoint)
    {
        var error = Assert.Throws<ArgumentException>(() => new RedisOptions { Endpoint = endpoint }.Validate());

        Assert.Contains("Endpoint", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lists_every_invalid_option_at_once()
    {
        var options = new RedisOptions
        {
            Database = -1,
            ClientName = "has space",
            User = "alice",
            CommandTimeout = TimeSpan.Zero,
            ConnectTimeout = TimeSpan.FromHours(1),
            ReconnectMinDelay = TimeSpan.FromSeconds(2),
            ReconnectMaxDelay = TimeSpan.FromSeconds(1),
        };

        var result = new RedisOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        foreach (var name in new[] { "Database", "ClientName", "User requires Password", "CommandTimeout", "ConnectTimeout", "ReconnectMaxDelay" })
        {
            Assert.Contains(name, result.FailureMessage, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Connecting_validates_the_options()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => RedisClient.ConnectAsync(new RedisOptions { CommandTimeout = TimeSpan.Zero }));
        Assert.Throws<ArgumentException>(() => RedisClient.Create(new RedisOptions { Endpoint = "nope" }));
    }
}
