using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using ControlPlane.Server.Tests.EndToEnd;
using ControlPlane.Service;
using ControlPlane.Service.Security;

namespace ControlPlane.Server.Tests.Security;

/// <summary>The embedded default: the first start writes an admin key holding every role to <c>DATA-DIR/admin.key</c>
/// with mode 0600; a second start creates no other key.</summary>
public sealed class BootstrapKeyTests : IDisposable
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), $"cp-boot-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    [Fact]
    public async Task The_first_start_writes_an_owner_only_admin_key_and_a_second_start_makes_no_other()
    {
        var path = Path.Combine(_dataDirectory, "admin.key");
        string token;
        await using (var first = await StartAsync())
        {
            Assert.True(File.Exists(path));
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            }

            token = (await File.ReadAllTextAsync(path)).Trim();
            var whoami = await GetAsync(first, "admin/v1/whoami", token);
            Assert.Equal("bootstrap-admin", whoami.GetProperty("principal").GetString());
            Assert.Equal(Roles.All, whoami.GetProperty("roles").EnumerateArray().Select(r => r.GetString()!).ToList());
        }

        await using (var second = await StartAsync())
        {
            Assert.Equal(token, (await File.ReadAllTextAsync(path)).Trim());
            var keys = await GetAsync(second, "admin/v1/keys", token);
            Assert.Equal(token.Split('_')[1], Assert.Single(keys.EnumerateArray()).GetProperty("id").GetString());
        }
    }

    private Task<ControlPlaneNode> StartAsync() =>
        ControlPlaneNode.StartAsync(new NodeOptions { DataDirectory = _dataDirectory, Storage = ControlPlaneStorage.Sqlite }, fleet: null, useTestAdminKey: false);

    private static async Task<JsonElement> GetAsync(ControlPlaneNode node, string path, string token)
    {
        using var client = new HttpClient { BaseAddress = node.AdminAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }
}
