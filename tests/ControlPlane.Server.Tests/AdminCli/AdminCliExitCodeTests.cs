using System.Net;
using ControlPlane.Server.AdminCli;

namespace ControlPlane.Server.Tests.AdminCli;

/// <summary>Exit codes and messages: usage errors (nothing sent), the API's refusals, 401/403, 5xx; and where the CLI
/// takes its address and credential from.</summary>
public sealed class AdminCliExitCodeTests
{
    public static TheoryData<string[], string> UsageErrors => new()
    {
        { ["endpoint", "drain", "a", "--reason", "r", "--ttl", "5q"], "--ttl: '5q' is not a duration" },
        { ["endpoint", "drain", "a", "--reason", "r", "--ttl", "0"], "--ttl: '0' must be positive" },
        { ["endpoint", "drain", "a", "--reason", "r", "--ttl", "400d"], "longer than 366 days" },
        { ["endpoint", "drain", "a"], "Option '--reason' is required" },
        { ["endpoint", "drain", "a", "--reason", "  "], "--reason is required" },
        { ["endpoint", "drain", "a", "--reason", "line\nbreak"], "--reason: must not contain control characters" },
        { ["endpoint", "show", "../../etc/passwd"], "ID: '../../etc/passwd' is not a valid id" },
        { ["endpoint", "show", "a b"], "is not a valid id" },
        { ["endpoint", "force", "a", "--state", "sideways", "--reason", "r"], "--state: unknown value 'sideways'" },
        { ["endpoint", "force", "a", "--state", "auto", "--ttl", "1m", "--reason", "r"], "--ttl does not apply to --state auto" },
        { ["keys", "create", "bob", "--role", "superuser", "--reason", "r"], "--role: unknown role 'superuser'" },
        { ["keys", "create", "bob", "--reason", "r"], "Option '--role' is required" },
        { ["keys", "revoke", "cpk_abcdef123456_secret", "--reason", "r"], "not the key itself" },
        { ["policy", "propose", "legal_draft", "--reason", "r"], "nothing to propose" },
        { ["policy", "propose", "legal_draft", "--fallback", "a=1.5", "--reason", "r"], "between 0 and 1" },
        { ["policy", "propose", "legal_draft", "--mode", "yolo", "--reason", "r"], "--mode: unknown value 'yolo'" },
        { ["policy", "reject", "p1"], "Option '--reason' is required" },
        { ["policy", "list", "--state", "open"], "--state: unknown value 'open'" },
        { ["break-glass", "legal_draft", "--mode", "auto_fallback", "--reason", "r"], "--mode: unknown value 'auto_fallback'" },
        { ["break-glass", "legal_draft", "--reason", "r"], "--mode is required" },
        { ["break-glass"], "give a CLASS" },
        { ["audit", "list", "--limit", "0"], "--limit: must be between 1 and 1000" },
        { ["audit", "list", "--before", "0"], "--before: must be a sequence number of 1 or more" },
        { ["audit", "list", "--since", "yesterday"], "--since: 'yesterday' is neither" },
        { ["--output", "yaml", "fleet", "show"], "yaml" },
        { ["--url", "ftp://node", "fleet", "show"], "--url: 'ftp://node' is not an http:// or https:// address" },
        { ["--timeout", "soon", "fleet", "show"], "--timeout: 'soon' is not a duration" },
        { ["--timeout", "30d", "fleet", "show"], "--timeout: at most 60 minutes" },
        { ["--key", "two words", "fleet", "show"], "--key: not a credential" },
        { ["--key-file", "missing.key", "fleet", "show"], "--key-file: 'missing.key' does not exist" },
        { ["bogus"], "bogus" },
        { ["policy"], "Required command was not provided" },
    };

    [Theory]
    [MemberData(nameof(UsageErrors))]
    public async Task Bad_input_is_a_usage_error_before_any_call(string[] args, string message)
    {
        var handler = new RecordingHandler(HttpStatusCode.OK, "{}");

        var run = await CliHarness.RunAsync(handler, null, args);

        Assert.True(run.ExitCode == CliExit.Usage, run.ToString());
        Assert.Contains(message, run.Error, StringComparison.Ordinal);
        Assert.Empty(handler.Requests);
    }

    [Theory]
    [InlineData(HttpStatusCode.Unauthorized, CliExit.Denied, "not authenticated (401)")]
    [InlineData(HttpStatusCode.Forbidden, CliExit.Denied, "not allowed (403)")]
    [InlineData(HttpStatusCode.BadRequest, CliExit.Refused, "refused (400 Invalid request)")]
    [InlineData(HttpStatusCode.NotFound, CliExit.Refused, "refused (404 Invalid request)")]
    [InlineData(HttpStatusCode.Conflict, CliExit.Refused, "refused (409 Invalid request)")]
    [InlineData(HttpStatusCode.TooManyRequests, CliExit.Refused, "refused (429 Invalid request)")]
    [InlineData(HttpStatusCode.InternalServerError, CliExit.Unavailable, "the node failed (500 Invalid request)")]
    [InlineData(HttpStatusCode.ServiceUnavailable, CliExit.Unavailable, "the node failed (503 Invalid request)")]
    public async Task An_error_answer_maps_to_its_exit_code_with_detail_and_field_on_stderr(HttpStatusCode status, int exit, string message)
    {
        var handler = new RecordingHandler(status, """{"title":"Invalid request","status":400,"detail":"reason: must be at most 1024 characters","field":"reason"}""");

        var run = await CliHarness.RunAsync(handler, null, "endpoint", "drain", "a", "--reason", "r", "--url", "http://node.test");

        Assert.True(run.ExitCode == exit, run.ToString());
        Assert.Contains(message, run.Error, StringComparison.Ordinal);
        Assert.Contains("detail: reason: must be at most 1024 characters", run.Error, StringComparison.Ordinal);
        Assert.Contains("field: reason", run.Error, StringComparison.Ordinal);
        Assert.Empty(run.Out);
    }

    [Fact]
    public async Task A_refusal_with_several_reasons_prints_every_one()
    {
        var handler = new RecordingHandler(HttpStatusCode.BadRequest, """
            {"title":"Invalid request","detail":"the fleet file is refused","field":"endpoints.a.model",
             "errors":{"endpoints.a.model":["is required"],"classes.c.primary":["unknown endpoint 'x'","must not be empty"]}}
            """);

        var run = await CliHarness.RunAsync(handler, null, "fleet", "reload", "--reason", "r", "--url", "http://node.test");

        Assert.True(run.ExitCode == CliExit.Refused, run.ToString());
        Assert.Contains("error: endpoints.a.model: is required", run.Error, StringComparison.Ordinal);
        Assert.Contains("error: classes.c.primary: unknown endpoint 'x'", run.Error, StringComparison.Ordinal);
        Assert.Contains("error: classes.c.primary: must not be empty", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_non_JSON_error_body_is_shown_as_its_first_line()
    {
        var handler = new RecordingHandler(HttpStatusCode.BadGateway, "upstream connect error\nmore");

        var run = await CliHarness.RunAsync(handler, null, "whoami", "--url", "http://node.test");

        Assert.True(run.ExitCode == CliExit.Unavailable, run.ToString());
        Assert.Contains("detail: upstream connect error", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_key_option_is_sent_as_a_bearer_credential_to_the_url_option()
    {
        var handler = new RecordingHandler(HttpStatusCode.OK, "{}");

        var run = await CliHarness.RunAsync(handler, new Dictionary<string, string> { ["CONTROLPLANE_KEY"] = "cpk_fromenv0000_x", ["CONTROLPLANE_URL"] = "http://env.test" },
            "whoami", "--key", "cpk_abcdef123456_secret", "--url", "http://node.test:9000");

        Assert.True(run.ExitCode == CliExit.Ok, run.ToString());
        Assert.Equal("Bearer cpk_abcdef123456_secret", handler.Single.Authorization);
        Assert.Equal("/admin/v1/whoami", handler.Single.PathAndQuery);
    }

    [Fact]
    public async Task Without_options_the_environment_gives_the_url_and_key()
    {
        string? host = null;
        var handler = new RecordingHandler(request =>
        {
            host = request.RequestUri!.Authority;
            return (HttpStatusCode.OK, "{}");
        });

        var run = await CliHarness.RunAsync(handler, new Dictionary<string, string> { ["CONTROLPLANE_KEY"] = "cpk_fromenv0000_x", ["CONTROLPLANE_URL"] = "http://env.test:7000" }, "whoami");

        Assert.True(run.ExitCode == CliExit.Ok, run.ToString());
        Assert.Equal("Bearer cpk_fromenv0000_x", handler.Single.Authorization);
        Assert.Equal("env.test:7000", host);
    }

    [Fact]
    public async Task Without_url_or_environment_the_default_is_the_local_admin_port()
    {
        string? url = null;
        var handler = new RecordingHandler(request =>
        {
            url = request.RequestUri!.GetLeftPart(UriPartial.Authority);
            return (HttpStatusCode.OK, "{}");
        });

        var run = await CliHarness.RunAsync(handler, null, "whoami");

        Assert.True(run.ExitCode == CliExit.Ok, run.ToString());
        Assert.Equal(CliGlobals.DefaultUrl, url);
        Assert.Null(handler.Single.Authorization);
    }

    [Fact]
    public async Task The_key_file_option_and_the_default_data_admin_key_are_read()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"cli-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.Combine(directory, "data"));
        try
        {
            await File.WriteAllTextAsync(Path.Combine(directory, "data", "admin.key"), "cpk_default00000_secret\n");
            await File.WriteAllTextAsync(Path.Combine(directory, "other.key"), "  cpk_other000000_secret  \n");
            var byDefault = new RecordingHandler(HttpStatusCode.OK, "{}");
            var byOption = new RecordingHandler(HttpStatusCode.OK, "{}");

            var first = await CliHarness.RunInAsync(directory, byDefault, null, "whoami");
            var second = await CliHarness.RunInAsync(directory, byOption, null, "whoami", "--key-file", "other.key");

            Assert.True(first.ExitCode == CliExit.Ok, first.ToString());
            Assert.Equal("Bearer cpk_default00000_secret", byDefault.Single.Authorization);
            Assert.True(second.ExitCode == CliExit.Ok, second.ToString());
            Assert.Equal("Bearer cpk_other000000_secret", byOption.Single.Authorization);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Help_lists_the_commands_and_the_exit_codes()
    {
        var run = await CliHarness.RunAsync("--help");

        Assert.True(run.ExitCode == CliExit.Ok, run.ToString());
        Assert.Contains("Exit codes: 0 ok; 1 usage error", run.Out, StringComparison.Ordinal);
        foreach (var command in new[] { "fleet", "endpoint", "class", "catalog", "policy", "break-glass", "audit", "keys", "whoami" })
        {
            Assert.Contains(command, run.Out, StringComparison.Ordinal);
        }
    }
}
