using System.Net;
using System.Text.Json.Nodes;
using ControlPlane.Server.AdminCli;

namespace ControlPlane.Server.Tests.AdminCli;

/// <summary>The requests the CLI builds for the routes other parts of the work add (policy proposals, break-glass,
/// audit paging/verify/export, keys, whoami, catalog, model-change ack, fleet reload): method, path and JSON body
/// checked against the pre-assigned contract with a handler that records them.</summary>
public sealed class AdminCliRequestTests
{
    public static TheoryData<string[], string, string, string?> Requests => new()
    {
        { ["fleet", "reload", "--reason", "new endpoint"], "POST", "/admin/v1/fleet/reload", """{"reason":"new endpoint"}""" },
        { ["endpoint", "ack-model-change", "openai-gpt4o-us", "--reason", "seen"], "POST", "/admin/v1/endpoints/openai-gpt4o-us/model-change/ack", """{"reason":"seen"}""" },
        { ["endpoint", "drain", "a", "--reason", "r"], "POST", "/admin/v1/endpoints/a/drain", """{"reason":"r"}""" },
        { ["endpoint", "drain", "a", "--reason", "@oncall asked"], "POST", "/admin/v1/endpoints/a/drain", """{"reason":"@oncall asked"}""" },
        { ["endpoint", "force", "a", "--state", "closed", "--reason", "r", "--ttl", "1h30m"], "POST", "/admin/v1/endpoints/a/breaker", """{"state":"closed","reason":"r","ttlSeconds":5400}""" },
        { ["class", "show", "legal_draft"], "GET", "/admin/v1/classes/legal_draft", null },
        { ["catalog"], "GET", "/admin/v1/catalog", null },
        { ["catalog", "openai-gpt4o-us"], "GET", "/admin/v1/catalog/openai-gpt4o-us", null },
        {
            ["policy", "propose", "legal_draft", "--mode", "auto_fallback", "--primary", "a,b", "--fallback", "c=0.92", "--fallback", "d", "--prohibit", "e",
                "--reason", "eu only", "--eval-ref", "eval-2026-12", "--expected-version", "3"],
            "POST", "/admin/v1/classes/legal_draft/proposals",
            """{"mode":"auto_fallback","primary":["a","b"],"fallbacks":[{"endpointId":"c","evalScore":0.92},"d"],"prohibited":["e"],"reason":"eu only","evalRef":"eval-2026-12","expectedVersion":3}"""
        },
        { ["policy", "propose", "customer_chat", "--mode", "queue_only", "--reason", "r"], "POST", "/admin/v1/classes/customer_chat/proposals", """{"mode":"queue_only","reason":"r"}""" },
        { ["policy", "approve", "legal_draft~3"], "POST", "/admin/v1/proposals/legal_draft~3/approve", "{}" },
        { ["policy", "approve", "legal_draft~3", "--reason", "eval ok"], "POST", "/admin/v1/proposals/legal_draft~3/approve", """{"reason":"eval ok"}""" },
        { ["policy", "reject", "legal_draft~3", "--reason", "no eval"], "POST", "/admin/v1/proposals/legal_draft~3/reject", """{"reason":"no eval"}""" },
        { ["policy", "list"], "GET", "/admin/v1/proposals", null },
        { ["policy", "list", "--state", "pending", "--class", "legal_draft"], "GET", "/admin/v1/proposals?state=pending&class=legal_draft", null },
        { ["policy", "list", "--state", "superseded"], "GET", "/admin/v1/proposals?state=superseded", null },
        { ["policy", "show", "legal_draft~3"], "GET", "/admin/v1/proposals/legal_draft~3", null },
        { ["policy", "history", "legal_draft"], "GET", "/admin/v1/classes/legal_draft/policy/history", null },
        { ["policy", "revert", "legal_draft", "--reason", "regression", "--eval-ref", "ev-9"], "POST", "/admin/v1/classes/legal_draft/revert", """{"reason":"regression","evalRef":"ev-9"}""" },
        { ["break-glass", "legal_draft", "--mode", "fail", "--reason", "data leak", "--ttl", "2h"], "POST", "/admin/v1/classes/legal_draft/break-glass", """{"mode":"fail","reason":"data leak","ttlSeconds":7200}""" },
        { ["break-glass", "clear", "legal_draft", "--reason", "fixed"], "POST", "/admin/v1/classes/legal_draft/break-glass/clear", """{"reason":"fixed"}""" },
        { ["break-glass", "list"], "GET", "/admin/v1/break-glass", null },
        { ["break-glass", "list", "--reviewed", "false"], "GET", "/admin/v1/break-glass?reviewed=false", null },
        { ["break-glass", "review", "legal_draft~bg2", "--reason", "post-mortem done"], "POST", "/admin/v1/break-glass/legal_draft~bg2/review", """{"reason":"post-mortem done"}""" },
        {
            ["audit", "list", "--limit", "50", "--before", "900", "--actor", "alice", "--target", "legal_draft", "--action", "policy.apply",
                "--since", "2026-12-01T00:00:00Z", "--until", "2026-12-06T12:30:00+01:00"],
            "GET", "/admin/v1/audit?limit=50&before=900&since=2026-12-01T00%3A00%3A00Z&until=2026-12-06T11%3A30%3A00Z&actor=alice&target=legal_draft&action=policy.apply", null
        },
        { ["audit", "verify"], "GET", "/admin/v1/audit/verify", null },
        { ["keys", "create", "ci-bot", "--role", "viewer", "--role", "operator", "--reason", "ci", "--ttl", "30d"], "POST", "/admin/v1/keys", """{"name":"ci-bot","roles":["viewer","operator"],"ttlSeconds":2592000,"reason":"ci"}""" },
        { ["keys", "list"], "GET", "/admin/v1/keys", null },
        { ["keys", "revoke", "abcdef123456", "--reason", "leaked"], "POST", "/admin/v1/keys/abcdef123456/revoke", """{"reason":"leaked"}""" },
        { ["whoami"], "GET", "/admin/v1/whoami", null },
    };

    [Theory]
    [MemberData(nameof(Requests))]
    public async Task Each_command_sends_the_contracts_method_path_and_body(string[] args, string method, string path, string? body)
    {
        // ok: an intact chain for audit verify; every other view ignores it.
        var handler = new RecordingHandler(HttpStatusCode.OK, """{"ok":true}""");

        var run = await CliHarness.RunAsync(handler, null, [.. args, "--url", "http://node.test:9000"]);

        Assert.True(run.ExitCode == CliExit.Ok, run.ToString());
        var request = handler.Single;
        Assert.Equal(method, request.Method);
        Assert.Equal(path, request.PathAndQuery);
        if (body is null)
        {
            Assert.Null(request.Body);
        }
        else
        {
            Assert.Equal("application/json", request.ContentType);
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(body), JsonNode.Parse(request.Body!)), $"sent {request.Body}");
        }
    }

    [Fact]
    public async Task Audit_since_as_a_duration_means_that_long_ago()
    {
        var handler = new RecordingHandler(HttpStatusCode.OK, """{"entries":[],"next":null}""");
        var before = DateTimeOffset.UtcNow;

        var run = await CliHarness.RunAsync(handler, null, "audit", "list", "--since", "2h", "--url", "http://node.test");

        Assert.True(run.ExitCode == CliExit.Ok, run.ToString());
        var query = System.Web.HttpUtility.ParseQueryString(new Uri("http://x" + handler.Single.PathAndQuery).Query);
        var since = DateTimeOffset.Parse(query["since"]!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(since, before.AddHours(-2).AddSeconds(-5), DateTimeOffset.UtcNow.AddHours(-2).AddSeconds(5));
    }

    [Fact]
    public async Task Audit_list_prints_the_next_page_cursor()
    {
        var handler = new RecordingHandler(HttpStatusCode.OK,
            """{"entries":[{"sequence":41,"at":"2026-12-06T15:00:00Z","actor":{"principal":"alice"},"action":"endpoint.drain","target":"a","reason":"r"}],"next":41}""");

        var run = await CliHarness.RunAsync(handler, null, "audit", "list", "--limit", "1", "--url", "http://node.test");

        Assert.True(run.ExitCode == CliExit.Ok, run.ToString());
        Assert.Contains("endpoint.drain", run.Out, StringComparison.Ordinal);
        Assert.Contains("more: --before 41", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Audit_export_streams_the_JSON_lines_to_the_file_untouched()
    {
        const string Lines = "{\"sequence\":1,\"action\":\"endpoint.drain\"}\n{\"sequence\":2,\"action\":\"endpoint.undrain\",\"reason\":\"ünïcode ✓\"}\n";
        var handler = new RecordingHandler(HttpStatusCode.OK, Lines);
        var directory = Path.Combine(Path.GetTempPath(), $"cli-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        try
        {
            var run = await CliHarness.RunInAsync(directory, handler, null, "audit", "export", "--out", "trail.ndjson", "--actor", "alice", "--url", "http://node.test");

            Assert.True(run.ExitCode == CliExit.Ok, run.ToString());
            Assert.Equal("/admin/v1/audit/export?actor=alice", handler.Single.PathAndQuery);
            Assert.Equal(Lines, await File.ReadAllTextAsync(Path.Combine(directory, "trail.ndjson")));
            Assert.Empty(run.Out);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task A_refused_export_exits_3_and_writes_no_file()
    {
        var handler = new RecordingHandler(HttpStatusCode.Forbidden, """{"title":"Forbidden","detail":"needs viewer"}""");
        var directory = Path.Combine(Path.GetTempPath(), $"cli-{Guid.NewGuid():N}");
        Directory.CreateDirectory(directory);
        try
        {
            var run = await CliHarness.RunInAsync(directory, handler, null, "audit", "export", "--out", "trail.ndjson", "--url", "http://node.test");

            Assert.True(run.ExitCode == CliExit.Denied, run.ToString());
            Assert.Contains("detail: needs viewer", run.Error, StringComparison.Ordinal);
            Assert.False(File.Exists(Path.Combine(directory, "trail.ndjson")));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Audit_export_without_a_file_writes_the_lines_to_the_output()
    {
        const string Lines = "{\"sequence\":1}\n{\"sequence\":2}\n";
        var handler = new RecordingHandler(HttpStatusCode.OK, Lines);

        var run = await CliHarness.RunAsync(handler, null, "audit", "export", "--url", "http://node.test");

        Assert.True(run.ExitCode == CliExit.Ok, run.ToString());
        Assert.Equal(Lines, run.Out);
    }

    [Fact]
    public async Task Audit_verify_exits_5_and_names_the_first_broken_link()
    {
        var handler = new RecordingHandler(HttpStatusCode.OK, """{"ok":false,"entries":12,"head":"ab12","firstBroken":{"sequence":7,"reason":"hash mismatch"}}""");

        var run = await CliHarness.RunAsync(handler, null, "audit", "verify", "--url", "http://node.test");

        Assert.True(run.ExitCode == CliExit.AuditBroken, run.ToString());
        Assert.Contains("BROKEN at sequence 7: hash mismatch", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Audit_verify_of_an_intact_chain_exits_0_also_in_json_mode()
    {
        const string Intact = """{"ok":true,"entries":12,"head":"ab12","firstBroken":null}""";

        var table = await CliHarness.RunAsync(new RecordingHandler(HttpStatusCode.OK, Intact), null, "audit", "verify", "--url", "http://node.test");
        var json = await CliHarness.RunAsync(new RecordingHandler(HttpStatusCode.OK, Intact), null, "audit", "verify", "-o", "json", "--url", "http://node.test");
        var broken = await CliHarness.RunAsync(new RecordingHandler(HttpStatusCode.OK, Intact.Replace("true", "false", StringComparison.Ordinal)), null,
            "audit", "verify", "-o", "json", "--url", "http://node.test");

        Assert.True(table.ExitCode == CliExit.Ok, table.ToString());
        Assert.Contains("audit chain intact: 12 entries, head ab12", table.Out, StringComparison.Ordinal);
        Assert.True(json.ExitCode == CliExit.Ok, json.ToString());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(Intact), JsonNode.Parse(json.Out)));
        Assert.True(broken.ExitCode == CliExit.AuditBroken, broken.ToString());
    }

    [Fact]
    public async Task Keys_create_prints_the_key_once_and_warns_that_it_is_shown_once()
    {
        var handler = new RecordingHandler(HttpStatusCode.Created,
            """{"id":"abcdef123456","name":"ci-bot","roles":["viewer"],"key":"cpk_abcdef123456_s3cr3t","createdAt":"2026-12-06T15:00:00Z","expiresAt":null}""");

        var run = await CliHarness.RunAsync(handler, null, "keys", "create", "ci-bot", "--role", "viewer", "--reason", "ci", "--url", "http://node.test");

        Assert.True(run.ExitCode == CliExit.Ok, run.ToString());
        Assert.Contains("cpk_abcdef123456_s3cr3t", run.Out, StringComparison.Ordinal);
        Assert.Contains("shown only once", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tables_tolerate_unknown_and_missing_fields()
    {
        var handler = new RecordingHandler(HttpStatusCode.OK,
            """[{"id":"p1","class":"legal_draft","state":"pending","somethingNew":{"deep":[1,2]}},{"id":"p2","unexpected":true}]""");

        var run = await CliHarness.RunAsync(handler, null, "policy", "list", "--url", "http://node.test");

        Assert.True(run.ExitCode == CliExit.Ok, run.ToString());
        Assert.Contains("p1", run.Out, StringComparison.Ordinal);
        Assert.Contains("p2", run.Out, StringComparison.Ordinal);
        Assert.Contains("2 item(s)", run.Out, StringComparison.Ordinal);
    }
}
