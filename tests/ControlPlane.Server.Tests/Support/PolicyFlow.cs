using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ControlPlane.Server.Tests.EndToEnd;
using ControlPlane.Service.Security;

namespace ControlPlane.Server.Tests.Support;

/// <summary>A policy change over the admin API the only way there is: proposed by a policy-author, approved by a
/// different policy-approver (and for a regulated class by a third principal holding compliance-approver).</summary>
internal static class PolicyFlow
{
    /// <summary>Proposes <paramref name="json"/> on <paramref name="className"/> as <paramref name="author"/> and gives
    /// every required approval; returns the applied proposal.</summary>
    public static async Task<JsonElement> ChangeAsync(ControlPlaneNode node, string className, string json, string author = "author", string approver = "approver")
    {
        var proposal = await ProposeAsync(node, className, json, author);
        JsonElement view = proposal;
        foreach (var role in proposal.GetProperty("requires").EnumerateArray().Select(r => r.GetString()!))
        {
            var who = role == Roles.PolicyApprover ? approver : $"{approver}-compliance";
            using var client = await node.AdminAsAsync(who, role);
            using var approved = await client.PostAsync($"admin/v1/proposals/{Uri.EscapeDataString(proposal.GetProperty("id").GetString()!)}/approve", Json("{}"));
            Assert.True(approved.StatusCode == HttpStatusCode.OK, $"approve: {(int)approved.StatusCode} {await approved.Content.ReadAsStringAsync()}");
            view = await approved.Content.ReadFromJsonAsync<JsonElement>();
        }

        Assert.Equal("applied", view.GetProperty("state").GetString());
        return view;
    }

    /// <summary>Proposes <paramref name="json"/> as <paramref name="author"/> (a policy-author); returns the proposal.</summary>
    public static async Task<JsonElement> ProposeAsync(ControlPlaneNode node, string className, string json, string author = "author")
    {
        using var client = await node.AdminAsAsync(author, Roles.PolicyAuthor);
        using var response = await client.PostAsync($"admin/v1/classes/{className}/proposals", Json(json));
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"propose: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");
}
