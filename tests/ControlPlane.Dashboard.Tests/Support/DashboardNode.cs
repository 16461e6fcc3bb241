using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ControlPlane.Server;
using ControlPlane.Service;
using ControlPlane.Service.Dashboard;
using ControlPlane.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Dashboard.Tests.Support;

/// <summary>A full single node (Orleans silo with in-memory grain state, the admin listener with the dashboard) on free
/// loopback ports, built and stopped by <see cref="NodeHost"/> as Program does; the bootstrap key is the all-roles test
/// key.</summary>
internal sealed class DashboardNode : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly string _store = Guid.NewGuid().ToString("N");

    private DashboardNode(WebApplication app)
    {
        _app = app;
        AdminAddress = new Uri(NodeHost.AdminAddress(app) + "/");
        Admin = TestCredentials.Client(AdminAddress);
    }

    /// <summary>The admin listener, e.g. <c>http://127.0.0.1:PORT/</c>.</summary>
    public Uri AdminAddress { get; }

    /// <summary>The admin API with the all-roles test key.</summary>
    public HttpClient Admin { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Starts a node; <paramref name="dashboard"/> adjusts the dashboard's options.</summary>
    public static async Task<DashboardNode> StartAsync(Action<DashboardOptions>? dashboard = null, bool orleansDashboard = true)
    {
        var options = new NodeOptions
        {
            Storage = ControlPlaneStorage.Memory,
            GrpcEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            AdminEndpoint = new IPEndPoint(IPAddress.Loopback, 0),
            AdminKey = TestCredentials.AdminKey,
            Dashboard = orleansDashboard,
        };
        var app = NodeHost.Build(options, FleetLocator.Load(null), builder =>
        {
            builder.Logging.ClearProviders();
            if (dashboard is not null)
            {
                builder.Services.Configure(dashboard);
            }
        });
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return new DashboardNode(app);
    }

    /// <summary>The token of an API key named <paramref name="principal"/> holding <paramref name="roles"/>.</summary>
    public Task<string> KeyForAsync(string principal, params string[] roles) => TestKeys.ForAsync(Admin, _store, principal, roles);

    /// <summary>The fleet's endpoint ids, in order.</summary>
    public async Task<IReadOnlyList<string>> EndpointIdsAsync()
    {
        var snapshot = await GetJsonAsync("admin/v1/dashboard/snapshot");
        return [.. snapshot.GetProperty("endpoints").EnumerateArray().Select(e => e.GetProperty("id").GetString()!)];
    }

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await Admin.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>POSTs JSON with the all-roles key and asserts success.</summary>
    public async Task PostAsync(string path, string json)
    {
        using var response = await Admin.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>The audit entries (newest first) without the key entries the harness causes.</summary>
    public async Task<IReadOnlyList<JsonElement>> ChangesAsync()
    {
        var entries = (await GetJsonAsync("admin/v1/audit?limit=1000")).GetProperty("entries");
        return [.. entries.EnumerateArray().Where(e => e.GetProperty("action").GetString() is { } a && !a.StartsWith("key.", StringComparison.Ordinal)
            && !a.StartsWith("auth.", StringComparison.Ordinal))];
    }

    public async ValueTask DisposeAsync()
    {
        Admin.Dispose();
        await NodeHost.StopAsync(_app);
        await _app.DisposeAsync();
    }
}
