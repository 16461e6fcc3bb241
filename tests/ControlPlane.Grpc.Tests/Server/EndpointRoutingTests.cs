using System.Net;
using ControlPlane.Contracts.V1;
using ControlPlane.Grpc.Server;
using ControlPlane.Grpc.Tests.Support;

namespace ControlPlane.Grpc.Tests.Server;

/// <summary>The same services mapped with endpoint routing (<c>MapGrpcServices</c>) instead of the middleware.</summary>
public sealed class EndpointRoutingTests : IAsyncLifetime
{
    private readonly TestService _service = new();
    private GrpcTestServer _server = null!;

    public async Task InitializeAsync() =>
        _server = await GrpcTestServer.StartAsync(s => s.AddGrpcService(_ => _service.CreateDefinition()), useEndpointRouting: true);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Mapped_methods_serve_calls()
    {
        var unary = await _server.Client.UnaryAsync(TestService.UnaryPath, new EchoRequest { Message = "routed" });
        var stream = await _server.Client.UnaryAsync(TestService.ServerStreamingPath, new EchoRequest { Count = 2 });

        Assert.Equal("routed", unary.Single(EchoResponse.Parser).Message);
        Assert.Equal(2, stream.Frames.Count);
    }

    [Theory]
    [InlineData("/test.v1.Test/UNARY", "Method '/test.v1.Test/UNARY' is unimplemented.")]
    [InlineData("/other.Service/Call", "Service 'other.Service' is unimplemented.")]
    public async Task Unknown_or_wrong_case_paths_are_Trailers_Only_UNIMPLEMENTED(string path, string detail)
    {
        var response = await _server.Client.UnaryAsync(path, new EchoRequest());

        Assert.Equal(HttpStatusCode.OK, response.HttpStatus);
        Assert.True(response.TrailersOnly);
        Assert.Equal((StatusCode.Unimplemented, detail), (response.Status!.Value, response.Message!));
    }

    [Fact]
    public async Task Non_gRPC_requests_to_unknown_paths_fall_through_to_the_rest_of_the_pipeline()
    {
        using var response = await _server.Client.GetAsync("some/page");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.False(response.Headers.Contains("grpc-status"));
    }
}
