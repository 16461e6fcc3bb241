using ControlPlane.Service.Admin;
using Grpc.Core;
using Microsoft.AspNetCore.Http;

namespace ControlPlane.Service.Security;

/// <summary>Builds the <see cref="AdminActor"/> of an HTTP or gRPC admin call.</summary>
internal static class AdminActors
{
    /// <summary>The HTTP header naming the actor (until authentication replaces it).</summary>
    public const string ActorHeader = "X-Actor";

    /// <summary>The gRPC metadata key naming the actor (until authentication replaces it).</summary>
    public const string ActorMetadata = "x-actor";

    /// <summary>The actor of an HTTP admin call.</summary>
    public static AdminActor FromHttp(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var name = context.Request.Headers.TryGetValue(ActorHeader, out var values) ? values.ToString() : null;
        return new AdminActor(AdminOperations.RequireActor(name), [], "header", Source(context), context.TraceIdentifier);
    }

    /// <summary>The actor of a gRPC admin call.</summary>
    public static AdminActor FromGrpc(ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return FromHttp(context.GetHttpContext());
    }

    private static string Source(HttpContext context) =>
        context.Connection.RemoteIpAddress is { } address ? $"{address}:{context.Connection.RemotePort}" : "local";
}
