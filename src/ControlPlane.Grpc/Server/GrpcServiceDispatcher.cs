using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;

namespace ControlPlane.Grpc.Server;

/// <summary>Finds the handler of a request path (ordinal, case-sensitive, as gRPC paths are) and
/// answers gRPC requests for unknown paths with UNIMPLEMENTED.</summary>
internal sealed class GrpcServiceDispatcher
{
    private readonly FrozenDictionary<string, ServerMethodHandler> _methods;
    private readonly FrozenSet<string> _services;

    public GrpcServiceDispatcher(GrpcServiceRegistry registry, GrpcServerRuntime runtime)
    {
        Runtime = runtime;
        _methods = registry.Services.SelectMany(s => s.Methods).ToFrozenDictionary(m => m.Path, StringComparer.Ordinal);
        _services = registry.Services.Select(s => s.ServiceName).ToFrozenSet(StringComparer.Ordinal);
    }

    public GrpcServerRuntime Runtime { get; }

    public IEnumerable<ServerMethodHandler> Methods => _methods.Values;

    public bool TryGetMethod(string? path, out ServerMethodHandler handler)
    {
        if (path is not null && _methods.TryGetValue(path, out var found))
        {
            handler = found;
            return true;
        }

        handler = null!;
        return false;
    }

    /// <summary>Trailers-Only UNIMPLEMENTED, naming the service when it is unknown and the method otherwise.</summary>
    public Task HandleUnimplementedAsync(HttpContext http)
    {
        if (Runtime.Reject(http) is { } rejection)
        {
            return rejection;
        }

        var path = http.Request.Path.Value ?? "";
        var slash = path.IndexOf('/', 1);
        var service = slash > 1 ? path[1..slash] : "";
        var detail = service.Length == 0 || _services.Contains(service)
            ? $"Method '{path}' is unimplemented."
            : $"Service '{service}' is unimplemented.";
        GrpcServerLog.CallFailed(Runtime.Logger, path, StatusCode.Unimplemented, detail);
        GrpcServerRuntime.WriteTrailersOnly(http, StatusCode.Unimplemented, detail);
        return Task.CompletedTask;
    }
}
