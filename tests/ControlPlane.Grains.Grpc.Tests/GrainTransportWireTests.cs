using System.Text;
using ControlPlane.Grains.Grpc.Wire;
using ControlPlane.Grpc.Client;
using Google.Protobuf;

namespace ControlPlane.Grains.Grpc.Tests;

/// <summary>The wire contract of controlplane.internal.v1.GrainTransport/Invoke, spoken by a plain gRPC client.</summary>
public sealed class GrainTransportWireTests(ThreeSiloFixture cluster) : IClassFixture<ThreeSiloFixture>, IDisposable
{
    private const string IncrementId = "ControlPlane.Grains.Grpc.Tests.ICounterGrain::Increment(System.Int64)";
    private readonly GrpcChannel _channel = GrpcChannel.ForAddress(cluster.A.Address);

    [Fact]
    public async Task Call_answers_the_result_as_json()
    {
        var reply = await InvokeAsync(Request("a:wire-ok", IncrementId, "5"));

        Assert.Equal(InvokeResponse.OutcomeOneofCase.Result, reply.OutcomeCase);
        Assert.Equal("5", reply.Result.ToStringUtf8());
    }

    [Fact]
    public async Task Grain_owned_elsewhere_is_rejected_with_its_owner_and_not_activated()
    {
        var before = cluster.A.Silo.ActivationCount;

        var reply = await InvokeAsync(Request("c:wire-elsewhere", IncrementId, "1"));

        Assert.Equal(InvokeResponse.OutcomeOneofCase.Rejected, reply.OutcomeCase);
        Assert.Equal(Rejected.Types.Reason.NotOwner, reply.Rejected.Reason);
        Assert.Equal("c", reply.Rejected.OwnerSiloId);
        Assert.Equal(before, cluster.A.Silo.ActivationCount);
        Assert.Equal(0, await cluster.C.Grains.GetGrain<ICounterGrain>("c:wire-elsewhere").Get());
    }

    [Fact]
    public async Task Unknown_method_and_wrong_arity_are_failures()
    {
        var unknown = await InvokeAsync(Request("a:wire-bad", "No.Such::Method()"));
        var arity = await InvokeAsync(Request("a:wire-bad", IncrementId));

        Assert.Equal("ControlPlane.Grains.GrainException", unknown.Failure.ExceptionType);
        Assert.Contains("No.Such::Method()", unknown.Failure.Message, StringComparison.Ordinal);
        Assert.Equal("ControlPlane.Grains.GrainException", arity.Failure.ExceptionType);
        Assert.Contains("carried 0 arguments", arity.Failure.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _channel.Dispose();

    private Task<InvokeResponse> InvokeAsync(InvokeRequest request) =>
        _channel.CreateCallInvoker().UnaryAsync(GrainTransportService.InvokeMethod, request);

    private static InvokeRequest Request(string key, string methodId, params string[] jsonArguments)
    {
        var request = new InvokeRequest
        {
            GrainType = "counter",
            GrainKey = key,
            MethodId = methodId,
            CallId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray()),
            SourceSilo = "test",
        };
        request.Arguments.AddRange(jsonArguments.Select(a => ByteString.CopyFrom(Encoding.UTF8.GetBytes(a))));
        return request;
    }
}
