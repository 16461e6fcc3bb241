using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using ControlPlane.Server.AdminCli;
using ControlPlane.Server.Tests.EndToEnd;
using ControlPlane.Server.Tests.Grpc;
using ControlPlane.Service.Security;
using ControlPlane.Testing;

namespace ControlPlane.Server.Tests.AdminCli;

/// <summary>The CLI in-process against a running node (real sockets, the real admin API): each command family that the
/// node serves, with its effect checked through the API.</summary>
public sealed class AdminCliNodeTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private ControlPlaneNode Node => fixture.Node;

    [Fact]
    public async Task Fleet_show_prints_every_endpoint_and_class_in_tables()
    {
        var run = await CliAsync("fleet", "show");

        Assert.True(run.ExitCode == CliExit.Ok, run.ToString());
        foreach (var id in new[] { "openai-gpt4o-us", "anthropic-sonnet-eu", "selfhosted-llama-eu", "customer_chat", "legal_draft" })
        {
            Assert.Contains(id, run.Out, StringComparison.Ordinal);
        }

        Assert.Contains("breaker.state", run.Out, StringComparison.Ordinal);
        Assert.Empty(run.Error);
    }

    [Fact]
    public async Task Fleet_show_json_is_the_APIs_JSON()
    {
        var run = await CliAsync("fleet", "show", "--output", "json");

        Assert.True(run.ExitCode == CliExit.Ok, run.ToString());
        using var printed = JsonDocument.Parse(run.Out);
        var api = await Node.GetAdminJsonAsync("admin/v1/fleet");
        Assert.Equal(api.GetProperty("endpoints").GetArrayLength(), printed.RootElement.GetProperty("endpoints").GetArrayLength());
        Assert.Equal(
            api.GetProperty("classes").EnumerateArray().Select(c => c.GetProperty("name").GetString()),
            printed.RootElement.GetProperty("classes").EnumerateArray().Select(c => c.GetProperty("name").GetString()));
    }

    [Fact]
    public async Task Endpoint_force_open_with_a_ttl_forces_the_breaker_then_auto_hands_it_back()
    {
        var before = DateTimeOffset.UtcNow;
        var run = await CliAsync("endpoint", "force", "anthropic-sonnet-eu", "--state", "open", "--reason", "cli: provider incident", "--ttl", "10m");

        Assert.True(run.ExitCode == CliExit.Ok, run.ToString());
        Assert.Contains("endpoint anthropic-sonnet-eu: breaker open", run.Out, StringComparison.Ordinal);
        var endpoint = await Node.GetAdminJsonAsync("admin/v1/endpoints/anthropic-sonnet-eu");
        Assert.Equal("open", endpoint.GetProperty("breaker").GetProperty("state").GetString());
        var forced = endpoint.GetProperty("override");
        Assert.Equal("force_open", forced.GetProperty("kind").GetString());
        Assert.Equal("cli: provider incident", forced.GetProperty("reason").GetString());
        var expires = forced.GetProperty("expiresAt").GetDateTimeOffset();
        Assert.InRange(expires, before.AddMinutes(10).AddSeconds(-5), DateTimeOffset.UtcNow.AddMinutes(10).AddSeconds(5));

        var back = await CliAsync("endpoint", "force", "anthropic-sonnet-eu", "--state", "auto", "--reason", "cli: incident over");

        Assert.True(back.ExitCode == CliExit.Ok, back.ToString());
        endpoint = await Node.GetAdminJsonAsync("admin/v1/endpoints/anthropic-sonnet-eu");
        Assert.Equal(JsonValueKind.Null, endpoint.GetProperty("override").ValueKind);
        Assert.Equal("closed", endpoint.GetProperty("breaker").GetProperty("state").GetString());
    }

    [Fact]
    public async Task Endpoint_drain_and_undrain_take_the_endpoint_out_of_rotation_and_back()
    {
        var drain = await CliAsync("endpoint", "drain", "google-gemini-pro-us", "--reason", "cli: maintenance", "--ttl", "1h");

        Assert.True(drain.ExitCode == CliExit.Ok, drain.ToString());
        var endpoint = await Node.GetAdminJsonAsync("admin/v1/endpoints/google-gemini-pro-us");
        Assert.Equal("drain", endpoint.GetProperty("override").GetProperty("kind").GetString());

        var undrain = await CliAsync("endpoint", "undrain", "google-gemini-pro-us", "--reason", "cli: maintenance done");

        Assert.True(undrain.ExitCode == CliExit.Ok, undrain.ToString());
        endpoint = await Node.GetAdminJsonAsync("admin/v1/endpoints/google-gemini-pro-us");
        Assert.Equal(JsonValueKind.Null, endpoint.GetProperty("override").ValueKind);
    }

    [Fact]
    public async Task Audit_list_shows_a_change_made_through_the_CLI_with_its_actor_and_reason()
    {
        var reason = $"cli audit {Guid.NewGuid():N}";
        var drain = await CliAsync("endpoint", "drain", "selfhosted-llama-eu", "--reason", reason);
        Assert.True(drain.ExitCode == CliExit.Ok, drain.ToString());

        var json = await CliAsync("audit", "list", "--limit", "20", "--output", "json");
        var table = await CliAsync("audit", "list", "--limit", "20");

        Assert.True(json.ExitCode == CliExit.Ok, json.ToString());
        using var document = JsonDocument.Parse(json.Out);
        var entries = document.RootElement.ValueKind == JsonValueKind.Array ? document.RootElement : document.RootElement.GetProperty("entries");
        var entry = Assert.Single(entries.EnumerateArray(), e => e.GetProperty("reason").GetString() == reason);
        Assert.Equal("endpoint.drain", entry.GetProperty("action").GetString());
        Assert.Equal("selfhosted-llama-eu", entry.GetProperty("target").GetString());
        Assert.Equal(Principal, entry.GetProperty("actor").GetProperty("principal").GetString());
        Assert.True(table.ExitCode == CliExit.Ok, table.ToString());
        Assert.Contains(reason, table.Out, StringComparison.Ordinal);
        Assert.Contains("endpoint.drain", table.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Undraining_an_endpoint_that_is_not_drained_exits_2_with_the_problem_on_stderr_and_changes_nothing()
    {
        var run = await CliAsync("endpoint", "undrain", "openai-gpt41mini-us", "--reason", "cli: not drained");

        Assert.True(run.ExitCode == CliExit.Refused, run.ToString());
        Assert.Contains("refused (409", run.Error, StringComparison.Ordinal);
        Assert.Contains("detail:", run.Error, StringComparison.Ordinal);
        var endpoint = await Node.GetAdminJsonAsync("admin/v1/endpoints/openai-gpt41mini-us");
        Assert.Equal(JsonValueKind.Null, endpoint.GetProperty("override").ValueKind);
    }

    [Fact]
    public async Task An_unknown_endpoint_exits_2_naming_the_field()
    {
        var run = await CliAsync("endpoint", "show", "no-such-endpoint");

        Assert.True(run.ExitCode == CliExit.Refused, run.ToString());
        Assert.Contains("refused (404", run.Error, StringComparison.Ordinal);
        Assert.Contains("field: id", run.Error, StringComparison.Ordinal);
        Assert.Empty(run.Out);
    }

    [Fact]
    public async Task A_port_where_nothing_listens_exits_4()
    {
        var run = await CliHarness.RunAsync("fleet", "show", "--url", $"http://127.0.0.1:{FreePort.Next()}");

        Assert.True(run.ExitCode == CliExit.Unavailable, run.ToString());
        Assert.Contains("cannot reach", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_node_that_does_not_answer_within_the_timeout_exits_4()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var accept = silent.AcceptTcpClientAsync();

        var run = await CliHarness.RunAsync("fleet", "show", "--url", $"http://127.0.0.1:{port}", "--timeout", "1s");

        Assert.True(run.ExitCode == CliExit.Unavailable, run.ToString());
        Assert.Contains("no answer from", run.Error, StringComparison.Ordinal);
        (await accept).Dispose();
    }

    [Fact]
    public async Task Without_a_credential_the_node_refuses_with_exit_3_and_nothing_changes()
    {
        var run = await CliHarness.RunAsync("endpoint", "drain", "openai-gpt41-us", "--reason", "cli: anonymous", "--url", Node.AdminAddress.ToString());

        Assert.True(run.ExitCode == CliExit.Denied, run.ToString());
        Assert.Contains("not authenticated (401)", run.Error, StringComparison.Ordinal);
        var endpoint = await Node.GetAdminJsonAsync("admin/v1/endpoints/openai-gpt41-us");
        Assert.Equal(JsonValueKind.Null, endpoint.GetProperty("override").ValueKind);
    }

    [Fact]
    public async Task A_viewer_key_reads_the_fleet_but_forcing_a_breaker_exits_3_and_changes_nothing()
    {
        var viewer = await Node.KeyForAsync("cli-viewer", Roles.Viewer);

        var read = await CliHarness.RunAsync("fleet", "show", "--url", Node.AdminAddress.ToString(), "--key", viewer);
        var force = await CliHarness.RunAsync("endpoint", "force", "openai-gpt41-us", "--state", "open", "--reason", "cli: not mine to force",
            "--url", Node.AdminAddress.ToString(), "--key", viewer);

        Assert.True(read.ExitCode == CliExit.Ok, read.ToString());
        Assert.True(force.ExitCode == CliExit.Denied, force.ToString());
        Assert.Contains("not allowed (403)", force.Error, StringComparison.Ordinal);
        var endpoint = await Node.GetAdminJsonAsync("admin/v1/endpoints/openai-gpt41-us");
        Assert.Equal(JsonValueKind.Null, endpoint.GetProperty("override").ValueKind);
        Assert.Equal("closed", endpoint.GetProperty("breaker").GetProperty("state").GetString());
    }

    [Fact]
    public async Task A_key_created_with_the_CLI_authenticates_as_its_name_and_roles_until_revoked_with_the_CLI()
    {
        var url = Node.AdminAddress.ToString();
        var create = await CliHarness.RunAsync("keys", "create", "cli-bob", "--role", "viewer", "--role", "operator", "--reason", "cli: on-call key", "--ttl", "1d",
            "--output", "json", "--url", url, "--key", TestCredentials.AdminKey);
        Assert.True(create.ExitCode == CliExit.Ok, create.ToString());
        Assert.Contains("shown only once", create.Error, StringComparison.Ordinal);
        using var created = JsonDocument.Parse(create.Out);
        var key = created.RootElement.GetProperty("key").GetString()!;
        var id = created.RootElement.GetProperty("id").GetString()!;

        var whoami = await CliHarness.RunAsync("whoami", "--output", "json", "--url", url, "--key", key);
        var list = await CliHarness.RunAsync("keys", "list", "--url", url, "--key", TestCredentials.AdminKey);
        var revoke = await CliHarness.RunAsync("keys", "revoke", id, "--reason", "cli: rotated", "--url", url, "--key", TestCredentials.AdminKey);
        var after = await CliHarness.RunAsync("whoami", "--url", url, "--key", key);

        Assert.True(whoami.ExitCode == CliExit.Ok, whoami.ToString());
        using var me = JsonDocument.Parse(whoami.Out);
        Assert.Equal("cli-bob", me.RootElement.GetProperty("principal").GetString());
        Assert.Equal(["operator", "viewer"], me.RootElement.GetProperty("roles").EnumerateArray().Select(r => r.GetString()).Order(StringComparer.Ordinal));
        Assert.True(list.ExitCode == CliExit.Ok, list.ToString());
        Assert.Contains(id, list.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(key, list.Out, StringComparison.Ordinal);
        Assert.True(revoke.ExitCode == CliExit.Ok, revoke.ToString());
        Assert.True(after.ExitCode == CliExit.Denied, after.ToString());
    }

    [Fact]
    public async Task Fleet_reload_of_the_unchanged_file_answers_its_version_with_no_changes_and_needs_admin()
    {
        var url = Node.AdminAddress.ToString();

        var table = await CliHarness.RunAsync("fleet", "reload", "--reason", "cli: reload", "--url", url, "--key", TestCredentials.AdminKey);
        var json = await CliHarness.RunAsync("fleet", "reload", "--reason", "cli: reload", "-o", "json", "--url", url, "--key", TestCredentials.AdminKey);
        var denied = await CliHarness.RunAsync("fleet", "reload", "--reason", "cli: reload", "--url", url, "--key", await Node.KeyForAsync(Principal, Roles.Operator, Roles.Viewer));

        Assert.True(table.ExitCode == CliExit.Ok, table.ToString());
        Assert.Contains("Fleet reloaded: version ", table.Out, StringComparison.Ordinal);
        Assert.True(json.ExitCode == CliExit.Ok, json.ToString());
        using var document = JsonDocument.Parse(json.Out);
        Assert.Equal(0, document.RootElement.GetProperty("changes").GetArrayLength());
        Assert.Equal(JsonValueKind.Number, document.RootElement.GetProperty("version").ValueKind);
        Assert.True(denied.ExitCode == CliExit.Denied, denied.ToString());
        Assert.Contains("not allowed (403)", denied.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Catalog_lists_every_endpoint_and_shows_one()
    {
        var all = await CliAsync("catalog", "--output", "json");
        var one = await CliAsync("catalog", "openai-gpt4o-us");

        Assert.True(all.ExitCode == CliExit.Ok, all.ToString());
        using var document = JsonDocument.Parse(all.Out);
        var api = await Node.GetAdminJsonAsync("admin/v1/fleet");
        Assert.Equal(api.GetProperty("endpoints").GetArrayLength(), document.RootElement.GetArrayLength());
        Assert.True(one.ExitCode == CliExit.Ok, one.ToString());
        Assert.Contains("endpoint openai-gpt4o-us", one.Out, StringComparison.Ordinal);
        Assert.Contains("ownerTeam", one.Out, StringComparison.Ordinal);
    }

    private const string Principal = "cli-tester";

    // The node's admin URL and an operator + viewer key named Principal for every command.
    private async Task<CliRun> CliAsync(params string[] args) =>
        await CliHarness.RunAsync([.. args, "--url", Node.AdminAddress.ToString(), "--key", await Node.KeyForAsync(Principal, Roles.Operator, Roles.Viewer)]);
}
