using ControlPlane.Service.Admin;
using ControlPlane.Service.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace ControlPlane.Service.Governance;

/// <summary>The admin routes of the two-person policy path (under <c>/admin/v1</c>, in the admin group, so errors are
/// problem+json naming the field): proposals, approvals, versions, revert, break-glass.</summary>
internal static class GovernanceHttpApi
{
    /// <summary>Maps the policy governance routes onto the admin group.</summary>
    public static RouteGroupBuilder MapPolicyGovernance(this RouteGroupBuilder group)
    {
        group.MapPost("/classes/{name}/proposals", async (string name, HttpRequest request, PolicyOperations ops) =>
            {
                var body = await AdminHttpApi.ReadObjectAsync(request, ["mode", "primary", "fallbacks", "prohibited", "reason", "evalRef", "expectedVersion"]);
                var change = new PolicyCommand(AdminHttpApi.String(body, "mode"), AdminHttpApi.Strings(body, "primary"), AdminHttpApi.Fallbacks(body),
                    AdminHttpApi.Strings(body, "prohibited"), AdminHttpApi.String(body, "reason") ?? "", AdminHttpApi.Integer(body, "expectedVersion"));
                var view = await ops.ProposeAsync(name, new ProposeCommand(change, AdminHttpApi.String(body, "evalRef")), AdminActors.FromHttp(request.HttpContext));
                return Results.Created($"/admin/v1/proposals/{Uri.EscapeDataString(view.Id)}", view);
            })
            .RequireRoles(Roles.PolicyAuthor)
            .WithName("ProposePolicy").WithSummary("Propose a change to a class's fallback policy (omitted fields keep the approved value); applied once approved.")
            .Accepts<PolicyCommand>("application/json").Produces<ProposalView>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        group.MapGet("/proposals", (string? state, string? @class, PolicyOperations ops) => ops.ListProposalsAsync(state, @class))
            .RequireRoles(Roles.Viewer, Roles.PolicyAuthor, Roles.PolicyApprover, Roles.ComplianceApprover)
            .WithName("ListProposals").WithSummary("Pending and recent proposals, filtered by state and class.");
        group.MapGet("/proposals/{id}", (string id, PolicyOperations ops) => ops.GetProposalAsync(id))
            .RequireRoles(Roles.Viewer, Roles.PolicyAuthor, Roles.PolicyApprover, Roles.ComplianceApprover)
            .WithName("GetProposal").WithSummary("One proposal with its approvals.").ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/proposals/{id}/approve", async (string id, HttpRequest request, PolicyOperations ops) =>
            {
                var body = await AdminHttpApi.ReadObjectAsync(request, ["reason"]);
                return await ops.ApproveAsync(id, AdminHttpApi.String(body, "reason"), AdminActors.FromHttp(request.HttpContext));
            })
            .RequireRoles(Roles.PolicyApprover, Roles.ComplianceApprover)
            .WithName("ApproveProposal").WithSummary("Approve another principal's proposal; the last required approval applies it.")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        group.MapPost("/proposals/{id}/reject", async (string id, HttpRequest request, PolicyOperations ops) =>
            {
                var body = await AdminHttpApi.ReadObjectAsync(request, ["reason"]);
                return await ops.RejectAsync(id, AdminHttpApi.String(body, "reason"), AdminActors.FromHttp(request.HttpContext));
            })
            .RequireRoles(Roles.PolicyApprover, Roles.ComplianceApprover)
            .WithName("RejectProposal").WithSummary("Reject a pending proposal.")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        group.MapGet("/classes/{name}/policy/history", (string name, PolicyOperations ops) => ops.GetHistoryAsync(name))
            .RequireRoles(Roles.Viewer, Roles.PolicyAuthor, Roles.PolicyApprover, Roles.ComplianceApprover)
            .WithName("GetPolicyHistory").WithSummary("Every applied policy version (1: the fleet file's) with who proposed and approved it.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/classes/{name}/revert", async (string name, HttpRequest request, PolicyOperations ops) =>
            {
                var body = await AdminHttpApi.ReadObjectAsync(request, ["reason", "evalRef"]);
                var view = await ops.RevertAsync(name, AdminHttpApi.String(body, "reason"), AdminHttpApi.String(body, "evalRef"), AdminActors.FromHttp(request.HttpContext));
                return Results.Created($"/admin/v1/proposals/{Uri.EscapeDataString(view.Id)}", view);
            })
            .RequireRoles(Roles.PolicyAuthor)
            .WithName("RevertPolicy").WithSummary("Propose the previous version's policy (a two-person change like any other).")
            .Produces<ProposalView>(StatusCodes.Status201Created).ProducesProblem(StatusCodes.Status409Conflict);
        group.MapPost("/classes/{name}/break-glass", async (string name, HttpRequest request, PolicyOperations ops) =>
            {
                var body = await AdminHttpApi.ReadObjectAsync(request, ["mode", "reason", "ttlSeconds"]);
                return await ops.BreakGlassAsync(name, new BreakGlassRequest(AdminHttpApi.String(body, "mode"), AdminHttpApi.String(body, "reason") ?? "",
                    AdminHttpApi.Integer(body, "ttlSeconds")), AdminActors.FromHttp(request.HttpContext));
            })
            .RequireRoles(Roles.Operator)
            .WithName("BreakGlass").WithSummary("Force a class to queue_only or fail at once (recorded for review).")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/classes/{name}/break-glass/clear", async (string name, HttpRequest request, PolicyOperations ops) =>
            {
                var body = await AdminHttpApi.ReadObjectAsync(request, ["reason"]);
                return await ops.ClearBreakGlassAsync(name, AdminHttpApi.String(body, "reason"), AdminActors.FromHttp(request.HttpContext));
            })
            .RequireRoles(Roles.Operator)
            .WithName("ClearBreakGlass").WithSummary("Lift the class's break-glass: the approved policy applies again.")
            .ProducesProblem(StatusCodes.Status409Conflict);
        group.MapGet("/break-glass", (bool? reviewed, PolicyOperations ops) => ops.ListBreakGlassAsync(reviewed))
            .RequireRoles(Roles.Viewer, Roles.Operator, Roles.PolicyApprover)
            .WithName("ListBreakGlass").WithSummary("Break-glass records of every class, for review.");
        group.MapPost("/break-glass/{id}/review", async (string id, HttpRequest request, PolicyOperations ops) =>
            {
                var body = await AdminHttpApi.ReadObjectAsync(request, ["reason"]);
                return await ops.ReviewBreakGlassAsync(id, AdminHttpApi.String(body, "reason"), AdminActors.FromHttp(request.HttpContext));
            })
            .RequireRoles(Roles.PolicyApprover)
            .WithName("ReviewBreakGlass").WithSummary("Mark a break-glass reviewed.")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        return group;
    }
}
