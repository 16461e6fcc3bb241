using System.Text;
using ControlPlane.Contracts.V1;
using ControlPlane.Server.Tests.EndToEnd;
using ControlPlane.Server.Tests.Support;
using Grpc.Core;

namespace ControlPlane.Server.Tests.Grpc;

/// <summary>The hostile-input table for the gRPC Admin service, over a real channel: extreme integers, non-finite and
/// out-of-range doubles, lists of a million ids, free text with control characters, terminal escapes, line breaks and
/// bidi overrides, deeply nested protobuf. Each case expects its documented status, and afterwards "the server still
/// serves and nothing changed": no audit entry, no override, the class policy at its version.</summary>
public sealed class AdminHostileInputTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private const string Endpoint = "openai-gpt4o-us";
    private const string Class = "customer_chat";

    private ControlPlaneNode Node => fixture.Node;

    private Contracts.V1.Admin.AdminClient Admin => Node.AdminGrpc;

    public static TheoryData<string, StatusCode, string> Cases => new()
    {
        { "ttl long.MaxValue", StatusCode.InvalidArgument, "ttlSeconds" },
        { "ttl long.MinValue", StatusCode.InvalidArgument, "ttlSeconds" },
        { "ttl zero", StatusCode.InvalidArgument, "ttlSeconds" },
        { "drain ttl long.MaxValue", StatusCode.InvalidArgument, "ttlSeconds" },
        { "eval score NaN", StatusCode.InvalidArgument, "fallbacks" },
        { "eval score +Infinity", StatusCode.InvalidArgument, "fallbacks" },
        { "eval score above 1", StatusCode.InvalidArgument, "fallbacks" },
        { "expected version long.MinValue", StatusCode.Aborted, "expectedVersion" },
        { "expected version long.MaxValue", StatusCode.Aborted, "expectedVersion" },
        { "a million primaries", StatusCode.InvalidArgument, "primary" },
        { "reason with a terminal escape", StatusCode.InvalidArgument, "reason" },
        { "reason with a line break", StatusCode.InvalidArgument, "reason" },
        { "reason with a bidi override", StatusCode.InvalidArgument, "reason" },
        { "reason of 100 KB", StatusCode.InvalidArgument, "reason" },
        { "unknown endpoint", StatusCode.NotFound, "id" },
        { "unknown class", StatusCode.NotFound, "name" },
        { "unknown breaker state", StatusCode.InvalidArgument, "state" },
        { "unknown mode", StatusCode.InvalidArgument, "mode" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_hostile_admin_call_gets_its_documented_status_and_changes_nothing(string name, StatusCode expected, string field)
    {
        var before = await FingerprintAsync();

        var error = await Assert.ThrowsAsync<RpcException>(() => CallAsync(name));

        Assert.Equal(expected, error.StatusCode);
        Assert.Contains(field, error.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(before, await FingerprintAsync());
        await Node.AssertServingAsync();
    }

    [Theory]
    [InlineData(int.MinValue)]
    [InlineData(-1)]
    [InlineData(1_001)]
    [InlineData(int.MaxValue)]
    public async Task An_audit_page_size_out_of_range_is_INVALID_ARGUMENT(int limit)
    {
        var error = await Assert.ThrowsAsync<RpcException>(async () => await Admin.ListAuditAsync(new ListAuditRequest { Limit = limit }));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith("limit:", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Protobuf_nested_past_the_recursion_limit_is_refused_and_the_node_survives()
    {
        // Field 99 of a SetPolicyRequest as 50,000 nested groups: an unknown field, so only the parser's recursion
        // limit (100) stands between the payload and the stack.
        var payload = new MemoryStream();
        for (var i = 0; i < 50_000; i++)
        {
            payload.Write([0x9B, 0x06]);  // tag 99, wire type 3 (start group)
        }

        for (var i = 0; i < 50_000; i++)
        {
            payload.Write([0x9C, 0x06]);  // tag 99, wire type 4 (end group)
        }

        var before = await FingerprintAsync();
        var response = await Node.AdminRaw.CallAsync("/controlplane.v1.Admin/SetPolicy", GrpcWire.Frame(payload.ToArray()));

        Assert.NotEqual(StatusCode.OK, response.Status);
        Assert.DoesNotContain("   at ", response.Message ?? "", StringComparison.Ordinal);
        Assert.Equal(before, await FingerprintAsync());
        await Node.AssertServingAsync();
    }

    private async Task<object> CallAsync(string name)
    {
        // The admin channel carries the all-roles test key: each case fails on its input, not on authorization.
        var actor = new Metadata();
        var policy = await Admin.GetClassAsync(new GetClassRequest { Name = Class });
        return name switch
        {
            "ttl long.MaxValue" => await Admin.SetBreakerAsync(Breaker("open", ttl: long.MaxValue), actor),
            "ttl long.MinValue" => await Admin.SetBreakerAsync(Breaker("open", ttl: long.MinValue), actor),
            "ttl zero" => await Admin.SetBreakerAsync(Breaker("open", ttl: 0), actor),
            "drain ttl long.MaxValue" => await Admin.DrainAsync(new DrainRequest { Id = Endpoint, Reason = "r", TtlSeconds = long.MaxValue }, actor),
            "eval score NaN" => await Admin.SetPolicyAsync(Fallback(double.NaN), actor),
            "eval score +Infinity" => await Admin.SetPolicyAsync(Fallback(double.PositiveInfinity), actor),
            "eval score above 1" => await Admin.SetPolicyAsync(Fallback(1.5), actor),
            "expected version long.MinValue" => await Admin.SetPolicyAsync(Policy(version: long.MinValue), actor),
            "expected version long.MaxValue" => await Admin.SetPolicyAsync(Policy(version: long.MaxValue), actor),
            "a million primaries" => await Admin.SetPolicyAsync(MillionPrimaries(policy.Version), actor),
            "reason with a terminal escape" => await Admin.SetBreakerAsync(Breaker("open", reason: "ok\u001b[2J\u001b[31mforged"), actor),
            "reason with a line break" => await Admin.SetBreakerAsync(Breaker("open", reason: "ok\n2026-12-06 admin=root forced"), actor),
            "reason with a bidi override" => await Admin.SetBreakerAsync(Breaker("open", reason: "ok \u202Edesrever"), actor),
            "reason of 100 KB" => await Admin.SetBreakerAsync(Breaker("open", reason: new string('x', 100_000)), actor),
            "unknown endpoint" => await Admin.SetBreakerAsync(new SetBreakerRequest { Id = "no-such-endpoint", State = "open", Reason = "r" }, actor),
            "unknown class" => await Admin.SetPolicyAsync(new SetPolicyRequest { Name = "no_such_class", Reason = "r" }, actor),
            "unknown breaker state" => await Admin.SetBreakerAsync(Breaker("half_open"), actor),
            "unknown mode" => await Admin.SetPolicyAsync(new SetPolicyRequest { Name = Class, Reason = "r", Mode = "queue" }, actor),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "no such case"),
        };

        static SetBreakerRequest Breaker(string state, long? ttl = null, string reason = "hostile input test")
        {
            var request = new SetBreakerRequest { Id = Endpoint, State = state, Reason = reason };
            if (ttl is { } t)
            {
                request.TtlSeconds = t;
            }

            return request;
        }

        static SetPolicyRequest Fallback(double score)
        {
            var request = new SetPolicyRequest { Name = Class, Reason = "r", Fallbacks = new FallbackList() };
            request.Fallbacks.Entries.Add(new FallbackEntry { EndpointId = "anthropic-sonnet-us", EvalScore = score });
            return request;
        }

        static SetPolicyRequest Policy(long version) => new() { Name = Class, Reason = "r", Mode = "fail", ExpectedVersion = version };

        static SetPolicyRequest MillionPrimaries(long version)
        {
            var request = new SetPolicyRequest { Name = Class, Reason = "r", Primary = new EndpointIdList(), ExpectedVersion = version };
            for (var i = 0; i < 1_000_000; i++)
            {
                request.Primary.Ids.Add("");
            }

            return request;
        }
    }

    // What an admin call may change: the audit trail, the endpoint's override and breaker, the class's policy.
    private async Task<string> FingerprintAsync()
    {
        var audit = await Admin.ListAuditAsync(new ListAuditRequest { Limit = 1 });
        var endpoint = await Admin.GetEndpointAsync(new GetEndpointRequest { Id = Endpoint });
        var policy = await Admin.GetClassAsync(new GetClassRequest { Name = Class });
        var text = new StringBuilder()
            .Append("audit=").Append(audit.Entries.Count == 0 ? 0 : audit.Entries[0].Sequence)
            .Append(" override=").Append(endpoint.Override?.ToString() ?? "none")
            .Append(" breaker=").Append(endpoint.Breaker.State).Append('/').Append(endpoint.Breaker.Reason)
            .Append(" class=").Append(policy.Version).Append(' ').Append(policy.Mode)
            .Append(' ').AppendJoin(',', policy.Primary).Append(" / ").AppendJoin(',', policy.Fallbacks);
        return text.ToString();
    }
}
