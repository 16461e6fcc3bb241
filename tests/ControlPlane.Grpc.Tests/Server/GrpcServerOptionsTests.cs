using ControlPlane.Grpc.Server;
using ControlPlane.Grpc.Tests.Support;
using Microsoft.Extensions.Options;

namespace ControlPlane.Grpc.Tests.Server;

public sealed class GrpcServerOptionsTests
{
    [Fact]
    public void Defaults_follow_gRPC_conventions()
    {
        var options = new GrpcServerOptions();

        Assert.Equal(4 * 1024 * 1024, options.MaxReceiveMessageSize);
        Assert.Null(options.MaxSendMessageSize);
        Assert.Null(options.ResponseCompression);
        Assert.False(options.EnableDetailedErrors);
        Assert.True(new GrpcServerOptionsValidator().Validate(null, options).Succeeded);
    }

    [Theory]
    [InlineData(0, null, null, 1, "MaxReceiveMessageSize")]
    [InlineData(1024, 0, null, 1, "MaxSendMessageSize")]
    [InlineData(1024, null, "br", 1, "ResponseCompression 'br'")]
    [InlineData(1024, null, null, -1, "ShutdownTimeout")]
    [InlineData(1024, null, null, 601, "ShutdownTimeout")]
    public void Invalid_values_are_rejected_with_the_option_named(int maxReceive, int? maxSend, string? compression, int shutdownSeconds, string expected)
    {
        var options = new GrpcServerOptions
        {
            MaxReceiveMessageSize = maxReceive,
            MaxSendMessageSize = maxSend,
            ResponseCompression = compression,
            ShutdownTimeout = TimeSpan.FromSeconds(shutdownSeconds),
        };

        var result = new GrpcServerOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(expected, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_refuses_to_start_with_invalid_options()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() =>
            GrpcTestServer.StartAsync(_ => { }, options => options.MaxReceiveMessageSize = -5));

        Assert.Contains("MaxReceiveMessageSize", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Detailed_errors_include_the_exception_type_and_message_when_enabled()
    {
        var service = new TestService { Unary = (_, _) => throw new InvalidOperationException("boom") };
        await using var server = await GrpcTestServer.StartAsync(s => s.AddGrpcService(service.CreateDefinition()), o => o.EnableDetailedErrors = true);

        var response = await server.Client.UnaryAsync(TestService.UnaryPath, new Contracts.V1.EchoRequest());

        Assert.Equal(StatusCode.Unknown, response.Status);
        Assert.Equal("Exception was thrown by handler. InvalidOperationException: boom", response.Message);
    }

    [Fact]
    public async Task Responses_larger_than_the_send_limit_are_RESOURCE_EXHAUSTED()
    {
        var service = new TestService();
        await using var server = await GrpcTestServer.StartAsync(s => s.AddGrpcService(service.CreateDefinition()), o => o.MaxSendMessageSize = 100);

        var small = await server.Client.UnaryAsync(TestService.UnaryPath, new Contracts.V1.EchoRequest { Message = "small" });
        var large = await server.Client.UnaryAsync(TestService.UnaryPath, new Contracts.V1.EchoRequest { Message = new string('x', 200) });

        Assert.Equal(StatusCode.OK, small.Status);
        Assert.Equal(StatusCode.ResourceExhausted, large.Status);
    }

    [Fact]
    public async Task Long_client_streams_are_not_cut_by_Kestrels_whole_body_limit()
    {
        var service = new TestService();
        await using var server = await GrpcTestServer.StartAsync(
            s => s.AddGrpcService(service.CreateDefinition()),
            configureKestrel: kestrel => kestrel.Limits.MaxRequestBodySize = 1024);
        var body = Enumerable.Range(0, 20).SelectMany(_ => GrpcWire.Frame(new Contracts.V1.EchoRequest { Message = new string('x', 200) })).ToArray();

        var response = await server.Client.CallAsync(TestService.ClientStreamingPath, body);

        Assert.Equal(StatusCode.OK, response.Status);
        Assert.Equal(20, response.Single(Contracts.V1.EchoResponse.Parser).Count);
    }
}
