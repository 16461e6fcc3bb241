using ControlPlane.Service.Admin;
using ControlPlane.Service.Audit;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Tests.Support;
using Microsoft.Extensions.Primitives;
using Microsoft.Extensions.Time.Testing;

namespace ControlPlane.Service.Tests.Audit;

/// <summary>Listing pages newest first with a <c>before</c> cursor and filters; the export yields every matching entry
/// oldest first; wire input is bounded and a bad value names its field.</summary>
public sealed class AuditQueryTests : IDisposable
{
    // Three sealed segments and a tail; entry n is at Start + n minutes, by alice (odd) or bob (even), about endpoint
    // "e{n % 3}", action "a.even" or "a.odd".
    private const int Appended = 3 * AuditTrailGrain.SegmentSize + 20;
    private static readonly DateTimeOffset Start = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _time = new(Start);
    private readonly TestStorage _storage = new();

    [Fact]
    public async Task Pages_follow_the_before_cursor_newest_first_without_gaps_or_repeats_across_segments()
    {
        await using var node = await StartWithTrailAsync();
        var seen = new List<long>();
        long? before = null;
        var pages = 0;
        do
        {
            var page = await node.Admin.QueryAuditAsync(new AuditQuery(Limit: 100, Before: before));
            seen.AddRange(page.Entries.Select(e => e.Sequence));
            before = page.Next;
            pages++;
        }
        while (before is not null);

        Assert.Equal(Enumerable.Range(1, Appended).Reverse().Select(i => (long)i), seen);
        Assert.Equal((Appended + 99) / 100, pages);
    }

    [Fact]
    public async Task Filters_by_actor_target_action_and_time_select_exactly_the_matching_entries()
    {
        await using var node = await StartWithTrailAsync();
        var since = Start.AddMinutes(100);
        var until = Start.AddMinutes(300);
        var page = await node.Admin.QueryAuditAsync(new AuditQuery(Limit: 1000, Actor: "bob", Target: "e1", Since: since, Until: until));

        var expected = Enumerable.Range(1, Appended).Where(n => n % 2 == 0 && n % 3 == 1 && n >= 100 && n < 300).Reverse().Select(n => (long)n);
        Assert.Equal(expected, page.Entries.Select(e => e.Sequence));
        Assert.Null(page.Next);

        var odd = await node.Admin.QueryAuditAsync(new AuditQuery(Limit: 5, Action: "a.odd"));
        Assert.Equal(new long[] { 403, 401, 399, 397, 395 }, odd.Entries.Select(e => e.Sequence));
        Assert.Equal(395, odd.Next);
        var more = await node.Admin.QueryAuditAsync(new AuditQuery(Limit: 2, Action: "a.odd", Before: odd.Next));
        Assert.Equal(new long[] { 393, 391 }, more.Entries.Select(e => e.Sequence));
    }

    [Fact]
    public async Task A_filter_that_matches_little_returns_a_cursor_when_its_scan_budget_runs_out()
    {
        await using var node = await StartWithTrailAsync();
        var reader = new AuditReader(node.Grains);
        var page = await reader.PageAsync(new AuditQuery(Limit: 10, Actor: "nobody"), scanBudget: 100);

        Assert.Empty(page.Entries);
        // The tail (20) and then a whole segment (128) were examined, past the budget of 100: the next page starts below them.
        Assert.Equal(Appended - 20 - AuditTrailGrain.SegmentSize + 1, page.Next);
        var rest = await reader.PageAsync(new AuditQuery(Limit: 10, Actor: "nobody", Before: page.Next), scanBudget: 10_000);
        Assert.Empty(rest.Entries);
        Assert.Null(rest.Next);
    }

    [Fact]
    public async Task Export_yields_every_matching_entry_oldest_first()
    {
        await using var node = await StartWithTrailAsync();
        var all = new List<AuditEntry>();
        await foreach (var entry in node.Admin.ExportAudit(new AuditQuery(), CancellationToken.None))
        {
            all.Add(entry);
        }

        Assert.Equal(Enumerable.Range(1, Appended).Select(i => (long)i), all.Select(e => e.Sequence));
        var alice = new List<long>();
        await foreach (var entry in node.Admin.ExportAudit(new AuditQuery(Actor: "alice", Since: Start.AddMinutes(390)), CancellationToken.None))
        {
            alice.Add(entry.Sequence);
        }

        Assert.Equal(Enumerable.Range(390, Appended - 389).Where(n => n % 2 == 1).Select(n => (long)n), alice);
    }

    [Theory]
    [InlineData("limit", "0")]
    [InlineData("limit", "1001")]
    [InlineData("limit", "ten")]
    [InlineData("before", "0")]
    [InlineData("before", "-5")]
    [InlineData("since", "yesterday")]
    [InlineData("until", "2026-13-40T00:00:00Z")]
    [InlineData("until", "99999999999999999999")]
    [InlineData("verbose", "1")]
    public void Bad_query_parameters_are_refused_naming_the_field(string name, string value)
    {
        var error = Assert.Throws<AdminException>(() => AuditQueries.FromQueryString([new(name, value)], paged: true));
        Assert.Equal((AdminErrorKind.Invalid, name), (error.Kind, error.Field));
    }

    [Fact]
    public void Query_parameters_are_bounded_given_once_and_times_accept_ISO_8601_or_unix_ms()
    {
        Assert.Equal("actor", Assert.Throws<AdminException>(() => AuditQueries.FromQueryString([new("actor", new string('a', 257))], paged: true)).Field);
        Assert.Equal("actor", Assert.Throws<AdminException>(() => AuditQueries.FromQueryString([new("actor", new StringValues(["a", "b"]))], paged: true)).Field);
        Assert.Equal("until", Assert.Throws<AdminException>(() => AuditQueries.FromQueryString(
            [new("since", "2026-12-06T12:00:00Z"), new("until", "2026-12-06T11:00:00Z")], paged: true)).Field);
        Assert.Equal("limit", Assert.Throws<AdminException>(() => AuditQueries.FromQueryString([new("limit", "5")], paged: false)).Field);

        var query = AuditQueries.FromQueryString([new("since", "2026-12-06T12:00:00Z"), new("until", "1796572800000"), new("limit", "7")], paged: true);
        Assert.Equal((Start, DateTimeOffset.FromUnixTimeMilliseconds(1796572800000), 7), (query.Since!.Value, query.Until!.Value, query.Limit));
    }

    public void Dispose() => _storage.Dispose();

    private async Task<ServiceNode> StartWithTrailAsync()
    {
        var node = await ServiceNode.StartAsync(_time, _storage);
        var trail = node.Grains.GetGrain<IAuditTrailGrain>(AuditTrailGrain.Key);
        for (var n = 1; n <= Appended; n++)
        {
            _time.SetUtcNow(Start.AddMinutes(n));
            await trail.AppendAsync(new AuditEntry(0, default, TestActors.Named(n % 2 == 1 ? "alice" : "bob"), n % 2 == 1 ? "a.odd" : "a.even",
                $"e{n % 3}", $"change {n}", "", ""));
        }

        return node;
    }
}
