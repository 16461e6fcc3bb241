using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ControlPlane.Proxy.Tests.Support;

namespace ControlPlane.Proxy.Tests.Support;

/// <summary>Small HTTP helpers of the proxy tests.</summary>
internal static class ProxyHttp
{
    public static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : "<missing>";

    public static async Task PostAsync(HttpClient admin, string path, string json)
    {
        using var response = await admin.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }
}
