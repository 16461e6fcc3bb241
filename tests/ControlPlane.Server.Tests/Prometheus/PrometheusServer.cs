using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using ControlPlane.Testing;

namespace ControlPlane.Server.Tests.Prometheus;

/// <summary>A real Debian <c>prometheus</c> server on a free loopback port with its TSDB in a temp directory, scraping one
/// node's admin listener (<c>GET /metrics</c>) every second with the bearer key in a <c>credentials_file</c>, and loading
/// <c>deploy/prometheus/controlplane-rules.yaml</c>. Killed and its directory deleted on dispose.</summary>
internal sealed class PrometheusServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private PrometheusServer(Process process, string directory, Uri address)
    {
        _process = process;
        _directory = directory;
        Address = address;
        Http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri Address { get; }

    public HttpClient Http { get; }

    /// <summary>Starts a server scraping <paramref name="adminAddress"/> with <paramref name="key"/>; returns once its
    /// HTTP API answers ready.</summary>
    public static async Task<PrometheusServer> StartAsync(Uri adminAddress, string key)
    {
        var directory = Directory.CreateTempSubdirectory("cp-prometheus-").FullName;
        var keyFile = Path.Combine(directory, "controlplane.key");
        await File.WriteAllTextAsync(keyFile, key);
        // The rules as shipped, evaluated every second (their groups' 30 s and 5 m intervals would leave a group
        // unevaluated for minutes: the test checks every rule evaluates healthy, not the cadence).
        await File.WriteAllTextAsync(Path.Combine(directory, "controlplane-rules.yaml"),
            System.Text.RegularExpressions.Regex.Replace(await File.ReadAllTextAsync(PrometheusTools.RulesFile), @"(?m)^(\s+interval:) \S+$", "$1 1s"));
        await File.WriteAllTextAsync(Path.Combine(directory, "prometheus.yml"), $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 1s
              evaluation_interval: 1s
            rule_files:
              - controlplane-rules.yaml
            scrape_configs:
              - job_name: controlplane
                metrics_path: /metrics
                authorization:
                  type: Bearer
                  credentials_file: {keyFile}
                static_configs:
                  - targets: ["{adminAddress.Authority}"]
            """);

        var port = FreePort.Next();
        var start = new ProcessStartInfo(PrometheusTools.Server)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
                 {
                     "--config.file=" + Path.Combine(directory, "prometheus.yml"), "--storage.tsdb.path=" + Path.Combine(directory, "data"),
                     $"--web.listen-address=127.0.0.1:{port}", "--log.level=warn",
                 })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("prometheus did not start.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new PrometheusServer(process, directory, new Uri($"http://127.0.0.1:{port}/"));
        try
        {
            var deadline = Stopwatch.StartNew();
            while (true)
            {
                Assert.False(process.HasExited, $"prometheus exited with {(process.HasExited ? process.ExitCode : 0)}");
                try
                {
                    using var ready = await server.Http.GetAsync("-/ready");
                    if (ready.IsSuccessStatusCode)
                    {
                        return server;
                    }
                }
                catch (HttpRequestException)
                {
                }

                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60), "prometheus was not ready within 60 s");
                await Task.Delay(200);
            }
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary><c>GET /api/v1/{path}</c>: the <c>data</c> member of a successful answer.</summary>
    public async Task<JsonElement> ApiAsync(string path)
    {
        var body = await Http.GetFromJsonAsync<JsonElement>("api/v1/" + path);
        Assert.Equal("success", body.GetProperty("status").GetString());
        return body.GetProperty("data");
    }

    /// <summary>Polls the instant query <paramref name="query"/> until its result satisfies <paramref name="done"/>
    /// (generous timeout: CI machines are slow); returns the last result.</summary>
    public async Task<JsonElement> QueryUntilAsync(string query, Func<JsonElement, bool> done, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var result = (await ApiAsync("query?query=" + Uri.EscapeDataString(query))).GetProperty("result");
            if (done(result) || deadline.Elapsed > timeout)
            {
                return result;
            }

            await Task.Delay(500);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }
        }
        finally
        {
            _process.Dispose();
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
