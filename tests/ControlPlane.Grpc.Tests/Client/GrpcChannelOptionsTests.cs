using ControlPlane.Grpc.Client;

namespace ControlPlane.Grpc.Tests.Client;

public sealed class GrpcChannelOptionsTests
{
    [Fact]
    public void Defaults_are_valid_and_match_the_documented_values()
    {
        var options = new GrpcChannelOptions();
        options.Validate();

        Assert.Equal(4 * 1024 * 1024, options.MaxReceiveMessageSize);
        Assert.Null(options.MaxSendMessageSize);
        Assert.True(options.EnableMultipleHttp2Connections);
    }

    public static TheoryData<string, Action<GrpcChannelOptions>> InvalidOptions => new()
    {
        { nameof(GrpcChannelOptions.MaxReceiveMessageSize), o => o.MaxReceiveMessageSize = 0 },
        { nameof(GrpcChannelOptions.MaxSendMessageSize), o => o.MaxSendMessageSize = -1 },
        { nameof(GrpcChannelOptions.RequestCompression), o => o.RequestCompression = "br" },
        { nameof(GrpcChannelOptions.PooledConnectionLifetime), o => o.PooledConnectionLifetime = TimeSpan.FromMilliseconds(5) },
        { nameof(GrpcChannelOptions.KeepAlivePingDelay), o => o.KeepAlivePingDelay = TimeSpan.Zero },
        { nameof(GrpcChannelOptions.KeepAlivePingTimeout), o => o.KeepAlivePingTimeout = TimeSpan.Zero },
        { nameof(GrpcChannelOptions.ConnectTimeout), o => o.ConnectTimeout = TimeSpan.FromHours(1) },
        { nameof(GrpcChannelOptions.UserAgent), o => o.UserAgent = " " },
    };

    [Theory]
    [MemberData(nameof(InvalidOptions))]
    public void Invalid_options_are_rejected_naming_the_option(string name, Action<GrpcChannelOptions> spoil)
    {
        var options = new GrpcChannelOptions();
        spoil(options);

        var ex = Assert.ThrowsAny<ArgumentException>(() => GrpcChannel.ForAddress("http://127.0.0.1:1", options));

        Assert.Equal(name, ex.ParamName);
    }

    [Theory]
    [InlineData("ftp://host:1")]
    [InlineData("/relative")]
    public void Only_absolute_http_addresses_are_accepted(string address)
    {
        Assert.ThrowsAny<Exception>(() => GrpcChannel.ForAddress(address));
    }

    [Fact]
    public void A_method_of_another_shape_is_rejected()
    {
        using var channel = GrpcChannel.ForAddress("http://127.0.0.1:1");

        Assert.Throws<ArgumentException>(() => channel.CreateCallInvoker().ServerStreaming(DiagnosticsMethods.Echo, new Contracts.V1.EchoRequest()));
    }
}
