using ControlPlane.Contracts.V1;
using ControlPlane.Server.Tests.EndToEnd;
using ControlPlane.Server.Tests.Support;

namespace ControlPlane.Server.Tests.Grpc;

/// <summary>Hostile but well-formed messages against a real node: repeated fields of a million items (still under the
/// 4 MB message limit) and extreme integers in every numeric field. Each gets INVALID_ARGUMENT naming the field (never a
/// crash, UNKNOWN or a silent wrap), and the node still routes afterwards. Before the bounds, a Route listing 2 million
/// excluded endpoints sized a stack buffer from the list and took the process down.</summary>
public sealed class HostileInputTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private const string RoutePath = "/controlplane.v1.Routing/Route";

    private ControlPlaneNode Node => fixture.Node;

    public static TheoryData<string, int> HugeRepeatedFields => new()
    {
        { "exclude_endpoint_ids", 2_000_000 },
        { "required_capabilities", 1_500_000 },
        { "tags", 300_000 },
    };

    [Theory]
    [MemberData(nameof(HugeRepeatedFields))]
    public async Task A_repeated_field_of_a_million_items_is_INVALID_ARGUMENT_naming_it_and_the_node_survives(string field, int count)
    {
        var request = new RouteRequest { WorkloadClass = "customer_chat", EstimatedInputTokens = 10, MaxOutputTokens = 10 };
        for (var i = 0; i < count; i++)
        {
            switch (field)
            {
                case "exclude_endpoint_ids":
                    request.ExcludeEndpointIds.Add("");
                    break;
                case "required_capabilities":
                    request.RequiredCapabilities.Add("");
                    break;
                default:
                    request.Tags[i.ToString("x", System.Globalization.CultureInfo.InvariantCulture)] = "";
                    break;
            }
        }

        var frame = GrpcWire.Frame(request);
        Assert.True(frame.Length < 4 * 1024 * 1024, $"the message ({frame.Length} B) must stay under the 4 MB limit to reach the handler");

        var response = await Node.Raw.CallAsync(RoutePath, frame);

        Assert.Equal(StatusCode.InvalidArgument, response.Status);
        Assert.Equal($"{field}: must list at most", response.Message![..($"{field}: must list at most".Length)]);
        await Node.AssertServingAsync();
    }

    [Theory]
    [InlineData(long.MaxValue, 10, 0L, 0, "estimated_input_tokens")]
    [InlineData(10, long.MaxValue, 0L, 0, "max_output_tokens")]
    [InlineData(long.MaxValue / 2 + 1, long.MaxValue / 2 + 1, 0L, 0, "estimated_input_tokens")]
    [InlineData(10, 10, long.MaxValue, 0, "deadline_ms")]
    [InlineData(10, 10, -2L, 0, "deadline_ms")]
    [InlineData(10, 10, long.MinValue, 0, "deadline_ms")]
    [InlineData(10, 10, 0L, int.MaxValue, "attempt")]
    [InlineData(long.MinValue, 10, 0L, 0, "estimated_input_tokens")]
    public async Task Extreme_integers_in_a_Route_are_INVALID_ARGUMENT_naming_the_field(long input, long output, long deadlineMs, int attempt, string field)
    {
        var request = new RouteRequest
        {
            WorkloadClass = "customer_chat",
            EstimatedInputTokens = input,
            MaxOutputTokens = output,
            DeadlineMs = deadlineMs,
            Attempt = attempt,
        };

        var error = await Assert.ThrowsAsync<RpcException>(async () => await Node.Routing.RouteAsync(request));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith(field + ":", error.Status.Detail, StringComparison.Ordinal);
        await Node.AssertServingAsync();
    }

    [Theory]
    [InlineData("latency_ms")]
    [InlineData("ttft_ms")]
    [InlineData("input_tokens")]
    [InlineData("output_tokens")]
    [InlineData("retry_after_ms")]
    public async Task An_outcome_with_an_extreme_integer_is_INVALID_ARGUMENT_naming_the_field(string field)
    {
        var outcome = new Outcome
        {
            EndpointId = "openai-gpt4o-us",
            WorkloadClass = "customer_chat",
            Status = OutcomeStatus.Success,
            HttpStatus = 200,
            LatencyMs = field == "latency_ms" ? long.MaxValue : 100,
            TtftMs = field == "ttft_ms" ? long.MaxValue : 10,
            InputTokens = field == "input_tokens" ? long.MaxValue : 10,
            OutputTokens = field == "output_tokens" ? long.MaxValue : 10,
            RetryAfterMs = field == "retry_after_ms" ? long.MaxValue : 0,
        };

        var error = await Assert.ThrowsAsync<RpcException>(async () => await Node.Routing.ReportOutcomeAsync(outcome));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith(field + ":", error.Status.Detail, StringComparison.Ordinal);
        await Node.AssertServingAsync();
    }

    [Theory]
    [InlineData("5S", 0L, 5_000L)]
    [InlineData("2S", 60_000L, 2_000L)]
    [InlineData("100S", 1_500L, 1_500L)]
    public async Task A_decision_timeout_never_outlives_the_callers_remaining_deadline(string grpcTimeout, long deadlineMs, long bound)
    {
        var request = new RouteRequest { WorkloadClass = "customer_chat", EstimatedInputTokens = 10, MaxOutputTokens = 10, DeadlineMs = deadlineMs };

        var response = await Node.Raw.CallAsync(RoutePath, GrpcWire.Frame(request), ("grpc-timeout", grpcTimeout));

        Assert.Equal(StatusCode.OK, response.Status);
        var decision = response.Single(RouteDecision.Parser);
        Assert.NotEmpty(decision.EndpointId);
        Assert.InRange(decision.TimeoutMs, 1, bound);
    }

    [Fact]
    public async Task A_caller_without_a_deadline_gets_the_endpoints_timeout_not_the_route_calls_grpc_timeout()
    {
        // deadline_ms -1: the 2 s grpc-timeout is the client's bound on the Route call, not a deadline for the upstream
        // call. With 0 the same grpc-timeout is the caller's deadline and caps the decision.
        var free = new RouteRequest { WorkloadClass = "customer_chat", EstimatedInputTokens = 10, MaxOutputTokens = 10, DeadlineMs = -1 };
        var bounded = new RouteRequest { WorkloadClass = "customer_chat", EstimatedInputTokens = 10, MaxOutputTokens = 10, DeadlineMs = 0 };

        var freeDecision = (await Node.Raw.CallAsync(RoutePath, GrpcWire.Frame(free), ("grpc-timeout", "2S"))).Single(RouteDecision.Parser);
        var boundedDecision = (await Node.Raw.CallAsync(RoutePath, GrpcWire.Frame(bounded), ("grpc-timeout", "2S"))).Single(RouteDecision.Parser);

        Assert.NotEmpty(freeDecision.EndpointId);
        Assert.True(freeDecision.TimeoutMs > 2_000, $"timeout_ms {freeDecision.TimeoutMs} is capped by the Route call's grpc-timeout");
        Assert.InRange(boundedDecision.TimeoutMs, 1, 2_000);
    }
}
