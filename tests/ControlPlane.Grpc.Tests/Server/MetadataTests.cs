using ControlPlane.Contracts.V1;
using ControlPlane.Grpc.Server;
using ControlPlane.Grpc.Tests.Support;

namespace ControlPlane.Grpc.Tests.Server;

public sealed class MetadataTests : IClassFixture<TestServerFixture>
{
    private static readonly byte[] Binary = [0x00, 0x01, 0xFE, 0xFF, 0x80];

    private readonly TestServerFixture _fixture;

    public MetadataTests(TestServerFixture fixture)
    {
        _fixture = fixture;
        _fixture.Service.Reset();
    }

    [Theory]
    [InlineData("AAH+/4A=")]
    [InlineData("AAH+/4A")]
    public async Task Binary_metadata_round_trips_padded_or_unpadded_both_ways(string wireValue)
    {
        Metadata? seen = null;
        _fixture.Service.Unary = async (_, context) =>
        {
            seen = context.RequestHeaders;
            var bytes = context.RequestHeaders.Get("trace-bin")!.ValueBytes;
            await context.WriteResponseHeadersAsync(new Metadata().Add("echo-bin", bytes).Add("echo-text", "hello"));
            context.ResponseTrailers.Add("trailer-bin", bytes);
            return new EchoResponse();
        };

        var response = await _fixture.Server.Client.UnaryAsync(TestService.UnaryPath, new EchoRequest(),
            ("trace-bin", wireValue), ("x-tenant", "acme"));

        Assert.Equal(StatusCode.OK, response.Status);
        Assert.Equal(Binary, seen!.Get("trace-bin")!.ValueBytes);
        Assert.True(seen.Get("trace-bin")!.IsBinary);
        Assert.Equal("acme", seen.GetValue("x-tenant"));
        Assert.Null(seen.Get("te"));
        Assert.Null(seen.Get("content-type"));
        Assert.Equal(Binary, ServerCallContext.DecodeBase64(Assert.Single(response.Headers.GetValues("echo-bin"))));
        Assert.Equal("hello", Assert.Single(response.Headers.GetValues("echo-text")));
        Assert.Equal(Binary, ServerCallContext.DecodeBase64(Assert.Single(response.Trailers.GetValues("trailer-bin"))));
    }

    [Fact]
    public async Task Binary_values_are_sent_unpadded()
    {
        _fixture.Service.Unary = (_, context) =>
        {
            context.ResponseTrailers.Add("x-bin", [1]);
            return Task.FromResult(new EchoResponse());
        };

        var response = await _fixture.Server.Client.UnaryAsync(TestService.UnaryPath, new EchoRequest());

        Assert.Equal("AQ", Assert.Single(response.Trailers.GetValues("x-bin")));
    }

    [Fact]
    public async Task Repeated_and_comma_joined_binary_values_are_each_decoded()
    {
        List<byte[]>? values = null;
        _fixture.Service.Unary = (_, context) =>
        {
            values = context.RequestHeaders.GetAll("multi-bin").Select(e => e.ValueBytes).ToList();
            return Task.FromResult(new EchoResponse());
        };

        await _fixture.Server.Client.UnaryAsync(TestService.UnaryPath, new EchoRequest(), ("multi-bin", "AQ,Ag=="), ("multi-bin", "Aw"));

        Assert.Equal([[1], [2], [3]], values!);
    }

    [Fact]
    public async Task Invalid_base64_metadata_is_ignored_not_fatal()
    {
        Metadata? seen = null;
        _fixture.Service.Unary = (_, context) =>
        {
            seen = context.RequestHeaders;
            return Task.FromResult(new EchoResponse());
        };

        var response = await _fixture.Server.Client.UnaryAsync(TestService.UnaryPath, new EchoRequest(), ("bad-bin", "!!!"), ("good", "yes"));

        Assert.Equal(StatusCode.OK, response.Status);
        Assert.Null(seen!.Get("bad-bin"));
        Assert.Equal("yes", seen.GetValue("good"));
    }

    [Fact]
    public async Task Trailers_Only_error_carries_custom_trailers_in_the_headers()
    {
        _fixture.Service.Unary = (_, _) =>
            throw new RpcException(new Status(StatusCode.ResourceExhausted, "quota"), new Metadata().Add("retry-after-ms", "250").Add("detail-bin", Binary));

        var response = await _fixture.Server.Client.UnaryAsync(TestService.UnaryPath, new EchoRequest());

        Assert.True(response.TrailersOnly);
        Assert.Equal("250", Assert.Single(response.Headers.GetValues("retry-after-ms")));
        Assert.Equal(Binary, ServerCallContext.DecodeBase64(Assert.Single(response.Headers.GetValues("detail-bin"))));
    }
}
