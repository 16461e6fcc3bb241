using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using ControlPlane.Server.Tests.Support;
using ControlPlane.Testing;
using Grpc.Health.V1;

namespace ControlPlane.Server.Tests;

/// <summary>Runs the built <c>controlplane</c> executable as a real process.</summary>
public sealed partial class ProgramProcessTests
{
    private static readonly string ExecutablePath = Path.Combine(AppContext.BaseDirectory, "controlplane.dll");

    [Fact]
    public async Task Executable_reports_its_address_serves_health_without_diagnostics_and_exits_0_on_SIGTERM()
    {
        using var process = Start("--grpc-listen", "127.0.0.1:0");
        try
        {
            var address = await ReadListeningAddressAsync(process);
            using var client = new HttpClient
            {
                BaseAddress = new Uri(address + "/"),
                DefaultRequestVersion = HttpVersion.Version20,
                DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            };
            client.DefaultRequestHeaders.Authorization = TestCredentials.Bearer();

            var health = await client.UnaryAsync("/grpc.health.v1.Health/Check", new HealthCheckRequest());
            var echo = await client.UnaryAsync("/controlplane.v1.Diagnostics/Echo", new ControlPlane.Contracts.V1.EchoRequest { Message = "off" });
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, health.Single(HealthCheckResponse.Parser).Status);
            Assert.Equal(StatusCode.Unimplemented, echo.Status);

            using (var kill = Process.Start("/bin/kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(timeout.Token);
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    [Fact]
    public async Task Executable_loads_the_sample_fleet_and_prints_the_gRPC_and_admin_addresses()
    {
        using var process = Start("--grpc-listen", "127.0.0.1:0");
        try
        {
            await ReadListeningAddressAsync(process, drainAfter: false);
            var admin = await ReadLineMatchingAsync(process, AdminLine());
            using var client = TestCredentials.Client(new Uri(admin + "/"));
            var fleet = await client.GetStringAsync("admin/v1/fleet");
            Assert.Contains("\"customer_chat\"", fleet, StringComparison.Ordinal);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public async Task A_first_start_without_a_configured_key_prints_where_the_generated_admin_key_is_and_nothing_is_open_without_it()
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), $"cp-proc-{Guid.NewGuid():N}");
        using var process = Start(new Dictionary<string, string> { [TestCredentials.AdminKeyVariable] = "" },
            ["--grpc-listen", "127.0.0.1:0", "--storage", "sqlite", "--data-dir", dataDirectory]);
        try
        {
            var admin = await ReadLineMatchingAsync(process, AdminLine(), drainAfter: false);
            var path = await ReadLineMatchingAsync(process, AdminKeyLine());
            Assert.Equal(Path.GetFullPath(Path.Combine(dataDirectory, "admin.key")), path);
            var key = (await File.ReadAllTextAsync(path)).Trim();
            Assert.StartsWith("cpk_", key, StringComparison.Ordinal);
            using var client = TestCredentials.Client(new Uri(admin + "/"), key);
            Assert.Contains("\"bootstrap-admin\"", await client.GetStringAsync("admin/v1/whoami"), StringComparison.Ordinal);
            using var anonymous = new HttpClient { BaseAddress = new Uri(admin + "/") };
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("admin/v1/fleet")).StatusCode);
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Directory.Delete(dataDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task Invalid_fleet_file_exits_non_zero_with_the_located_errors_and_starts_nothing()
    {
        var file = Path.Combine(Path.GetTempPath(), $"bad-fleet-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, "endpoints:\n  - id: a\n    provider: x\nclasses: []\n");
        try
        {
            using var process = Start("--grpc-listen", "127.0.0.1:0", "--fleet", file);
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(timeout.Token);

            Assert.Equal(1, process.ExitCode);
            var message = await stderr;
            Assert.Contains($"{file}:2:5: endpoints.a.model: ", message, StringComparison.Ordinal);
            Assert.DoesNotContain("listening", await stdout, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task SIGHUP_reloads_the_fleet_file_as_system_sighup_and_the_node_keeps_running()
    {
        const string fleet = """
            fleet: { name: hup, version: "1" }
            endpoints:
              - { id: a, provider: vllm, model: llama, model_version: v1, region: eu, context_window: 32000, price_per_1k: { input: 0, output: 0 }, limits: { rpm: 100 }, owner_team: t, on_call: t }
            classes:
              - { name: chat, owner: t, mode: auto_fallback, primary: [a], slo: { availability: 0.99 } }
            """;
        var file = Path.Combine(Path.GetTempPath(), $"hup-fleet-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, fleet);
        using var process = Start("--grpc-listen", "127.0.0.1:0", "--fleet", file);
        try
        {
            await ReadListeningAddressAsync(process, drainAfter: false);
            var admin = await ReadLineMatchingAsync(process, AdminLine(), drainAfter: false);
            await File.WriteAllTextAsync(file, fleet.Replace("rpm: 100", "rpm: 250", StringComparison.Ordinal));

            using (var hup = Process.Start("/bin/kill", ["-HUP", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await hup.WaitForExitAsync();
            }

            Assert.Equal("1", await ReadLineMatchingAsync(process, SighupReloadLine()));
            using var client = new HttpClient { BaseAddress = new Uri(admin + "/") };
            client.DefaultRequestHeaders.Authorization = TestCredentials.Bearer();
            var endpoint = await client.GetStringAsync("admin/v1/endpoints/a");
            Assert.Contains("\"requestsPerMinute\":250", endpoint, StringComparison.Ordinal);
            var audit = await client.GetStringAsync("admin/v1/audit");
            Assert.Matches("\"principal\":\"system:sighup\"[^}]*}[^}]*\"action\":\"fleet.reload\"", audit);
            Assert.False(process.HasExited);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("--grpc-listen", "nowhere", "expected HOST:PORT")]
    [InlineData("--admin-listen", "nowhere", "Invalid --admin-listen 'nowhere'")]
    [InlineData("--storage", "redis", "expected sqlite or memory")]
    [InlineData("--bogus", "", "Unknown argument '--bogus'")]
    [InlineData("--redis", "nowhere", "Invalid --redis 'nowhere': expected HOST:PORT")]
    [InlineData("--node-name", "n1", "need '--redis HOST:PORT'")]
    [InlineData("--role", "silo", "needs '--redis HOST:PORT'")]
    [InlineData("--role", "gateway", "Invalid --role 'gateway'")]
    [InlineData("--silo-port", "99999", "Invalid --silo-port '99999'")]
    [InlineData("--membership", "slow", "Invalid --membership 'slow'")]
    public async Task Bad_arguments_exit_non_zero_with_a_message(string arg, string value, string expected)
    {
        var (exitCode, message) = await RunToExitAsync(value.Length == 0 ? [arg] : [arg, value]);

        Assert.NotEqual(0, exitCode);
        Assert.Contains(expected, message, StringComparison.Ordinal);
        Assert.Contains("Usage: controlplane", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_decision_key_in_the_environment_that_is_not_32_to_64_bytes_exits_2_without_echoing_it()
    {
        using var process = Start(new Dictionary<string, string> { ["CONTROLPLANE_DECISION_KEY"] = "dG9vLXNob3J0LXNlY3JldA==" }, ["--grpc-listen", "127.0.0.1:0"]);
        _ = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(2, process.ExitCode);
        var message = await stderr;
        Assert.Contains("Invalid CONTROLPLANE_DECISION_KEY: expected base64 of 32 to 64 random bytes", message, StringComparison.Ordinal);
        Assert.DoesNotContain("dG9vLXNob3J0", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Redis_with_local_storage_options_is_refused()
    {
        var (exitCode, stderr) = await RunToExitAsync("--redis", "127.0.0.1:6379", "--storage", "sqlite");

        Assert.Equal(2, exitCode);
        Assert.Contains("do not apply with '--redis'", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unreachable_Redis_exits_1_with_a_message()
    {
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        var (exitCode, stderr) = await RunToExitAsync("--grpc-listen", "127.0.0.1:0", "--redis", "127.0.0.1:1");

        Assert.Equal(1, exitCode);
        Assert.Contains("failed to start: Connecting to Redis at 127.0.0.1:1 failed", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_exits_0_with_the_usage()
    {
        using var process = Start("--help");
        var stdout = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);

        Assert.Equal(0, process.ExitCode);
        Assert.Contains("Usage: controlplane", await stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Advertise_with_a_port_exits_2_naming_the_option()
    {
        var (exitCode, stderr) = await RunToExitAsync("--redis", "127.0.0.1:6379", "--advertise", "10.0.0.7:50051");

        Assert.Equal(2, exitCode);
        Assert.Contains("Invalid --advertise '10.0.0.7:50051': expected an IP address", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_fleet_file_exits_1_and_starts_nothing()
    {
        var (exitCode, stderr) = await RunToExitAsync("--grpc-listen", "127.0.0.1:0", "--fleet", Path.Combine(Path.GetTempPath(), $"missing-{Guid.NewGuid():N}.yaml"));

        Assert.Equal(1, exitCode);
        Assert.StartsWith("controlplane: ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Port_already_in_use_exits_non_zero_with_a_message()
    {
        using var blocker = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        blocker.Start();
        var port = ((IPEndPoint)blocker.LocalEndpoint).Port;

        var (exitCode, stderr) = await RunToExitAsync("--grpc-listen", $"127.0.0.1:{port}");

        Assert.Equal(1, exitCode);
        Assert.Contains("failed to start", stderr, StringComparison.Ordinal);
    }

    // Runs a process expected to exit on its own (within a minute): its exit code and standard error.
    private static async Task<(int ExitCode, string Stderr)> RunToExitAsync(params string[] args)
    {
        using var process = Start(args);
        _ = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stderr);
    }

    private static Process Start(params string[] args) => Start(null, args);

    private static Process Start(IReadOnlyDictionary<string, string>? environment, string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(ExecutablePath);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        // A free admin port and no state on disk, so tests never collide with a running node or each other.
        if (!args.Contains("--admin-listen"))
        {
            info.ArgumentList.Add("--admin-listen");
            info.ArgumentList.Add("127.0.0.1:0");
        }

        if (!args.Contains("--storage") && !args.Contains("--redis"))
        {
            info.ArgumentList.Add("--storage");
            info.ArgumentList.Add("memory");
        }

        info.Environment["Logging__LogLevel__Default"] = "Warning";
        // The all-roles test key, unless the test says otherwise (an empty value: none, the node generates one).
        info.Environment[TestCredentials.AdminKeyVariable] = TestCredentials.AdminKey;
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            if (value.Length == 0)
            {
                info.Environment.Remove(name);
                continue;
            }

            info.Environment[name] = value;
        }

        return Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start.");
    }

    private static Task<string> ReadListeningAddressAsync(Process process, bool drainAfter = true) =>
        ReadLineMatchingAsync(process, ListeningLine(), drainAfter);

    private static async Task<string> ReadLineMatchingAsync(Process process, Regex pattern, bool drainAfter = true)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            var match = pattern.Match(line);
            if (match.Success)
            {
                if (drainAfter)
                {
                    // Keep draining stdout so the child never blocks on a full pipe.
                    _ = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
                }

                return match.Groups[1].Value;
            }
        }

        throw new InvalidOperationException($"controlplane exited before printing a line matching {pattern}.");
    }

    [GeneratedRegex(@"^gRPC listening on (http://\S+)$")]
    private static partial Regex ListeningLine();

    [GeneratedRegex(@"^Admin listening on (http://\S+)$")]
    private static partial Regex AdminLine();

    [GeneratedRegex(@"^Admin key: (\S+) ")]
    private static partial Regex AdminKeyLine();

    [GeneratedRegex(@"^Fleet reload \(SIGHUP\): fleet generation (\d+) ")]
    private static partial Regex SighupReloadLine();
}
