using static ControlPlane.Fleet.Tests.FleetYaml;

namespace ControlPlane.Fleet.Tests;

/// <summary>A class's <c>queue: { max_wait_ms, max_depth }</c>: documented defaults, strict validation naming the field.</summary>
public sealed class QueueLimitsTests
{
    [Fact]
    public void A_queue_only_class_without_a_queue_block_gets_the_documented_defaults()
    {
        Assert.True(Load(Base).TryGetClass("legal", out var legal));

        Assert.Equal((TimeSpan.FromSeconds(10), 100, true), (legal.Queue.MaxWait, legal.Queue.MaxDepth, legal.Queue.Holds));
    }

    [Fact]
    public void The_queue_block_sets_the_max_wait_and_depth()
    {
        Assert.True(Load(With((41, "    queue: { max_wait_ms: 2_500, max_depth: 7 }"))).TryGetClass("legal", out var legal));

        Assert.Equal((TimeSpan.FromMilliseconds(2_500), 7), (legal.Queue.MaxWait, legal.Queue.MaxDepth));
    }

    [Theory]
    [InlineData("max_wait_ms: 0", false)]
    [InlineData("max_depth: 0", false)]
    [InlineData("max_wait_ms: 300_000, max_depth: 10_000", true)]
    public void Zero_in_either_field_turns_holding_off(string fields, bool holds)
    {
        Assert.True(Load(With((41, $"    queue: {{ {fields} }}"))).TryGetClass("legal", out var legal));

        Assert.Equal(holds, legal.Queue.Holds);
    }

    [Theory]
    [InlineData("{ max_wait_ms: 300_001 }", "300_001", "classes.legal.queue.max_wait_ms: must be between 0 and 300,000 (0 turns holding off)")]
    [InlineData("{ max_wait_ms: -1 }", "-1", "classes.legal.queue.max_wait_ms: must be between 0 and 300,000 (0 turns holding off)")]
    [InlineData("{ max_depth: 10_001 }", "10_001", "classes.legal.queue.max_depth: must be between 0 and 10,000 (0 turns holding off)")]
    [InlineData("{ max_depth: 99999999999999999999 }", "99999999999999999999", "classes.legal.queue.max_depth: integer is too large")]
    [InlineData("{ max_wait_ms: 1.5 }", "1.5", "classes.legal.queue.max_wait_ms: expected an integer, got '1.5'")]
    [InlineData("{ max_wait_ms: \"100\" }", "\"100\"", "classes.legal.queue.max_wait_ms: expected an integer, got the string '100'")]
    [InlineData("{ max_wait: 100 }", "max_wait", "classes.legal.queue.max_wait: unknown key; did you mean 'max_wait_ms'?")]
    [InlineData("30s", "30s", "classes.legal.queue: expected a mapping, got '30s'")]
    public void Bad_queue_fields_are_errors_naming_the_field(string value, string token, string expected)
    {
        string line = $"    queue: {value}";

        var error = Assert.Single(Errors(With((41, line))));

        Assert.Equal($"test.yaml:41:{Col(line, token)}: {expected}", error.ToString());
    }

    [Fact]
    public void A_queue_on_a_class_that_never_queues_is_an_error()
    {
        string line = "    queue: { max_wait_ms: 1000 }";

        var error = Assert.Single(Errors(With((34, line))));

        Assert.Equal($"test.yaml:34:{Col(line, "{")}: classes.chat.queue: only a queue_only class holds requests; remove 'queue' or set mode: queue_only", error.ToString());
    }
}
