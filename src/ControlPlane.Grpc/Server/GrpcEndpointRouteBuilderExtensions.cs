using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Grpc.Server;

/// <summary>Maps the registered gRPC services onto ASP.NET Core endpoint routing.</summary>
public static class GrpcEndpointRouteBuilderExtensions
{
    /// <summary>Maps every method of every registered service at <c>/{service}/{method}</c>, plus a
    /// fallback that answers other gRPC requests with UNIMPLEMENTED (HTTP 200, Trailers-Only).</summary>
    public static IEndpointRouteBuilder MapGrpcServices(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var runtime = endpoints.ServiceProvider.GetService<GrpcServerRuntime>()
            ?? throw new InvalidOperationException("Call services.AddGrpcServer() before app.MapGrpcServices().");
        var registry = endpoints.ServiceProvider.GetRequiredService<GrpcServiceRegistry>();
        var serviceNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var service in registry.Services)
        {
            serviceNames.Add(service.ServiceName);
            foreach (var method in service.Methods)
            {
                var handler = method;
                endpoints.Map(RoutePatternFactory.Parse(method.Path), http => handler.HandleCallAsync(http, runtime))
                    .WithDisplayName("gRPC " + method.Path);
            }
        }

        var unimplemented = new RouteValueDictionary { ["method"] = new GrpcRequestConstraint() };
        endpoints.Map(
                RoutePatternFactory.Parse("/{service}/{method}", defaults: null, parameterPolicies: unimplemented),
                http => HandleUnimplementedAsync(http, runtime, serviceNames))
            .WithDisplayName("gRPC unimplemented");
        return endpoints;
    }

    private static Task HandleUnimplementedAsync(HttpContext http, GrpcServerRuntime runtime, HashSet<string> serviceNames)
    {
        if (runtime.Reject(http) is { } rejection)
        {
            return rejection;
        }

        var service = (string?)http.Request.RouteValues["service"] ?? "";
        var detail = serviceNames.Contains(service)
            ? $"Method '{http.Request.Path.Value}' is unimplemented."
            : $"Service '{service}' is unimplemented.";
        GrpcServerLog.CallFailed(runtime.Logger, http.Request.Path.Value ?? "", StatusCode.Unimplemented, detail);
        GrpcServerRuntime.WriteTrailersOnly(http, StatusCode.Unimplemented, detail);
        return Task.CompletedTask;
    }

    /// <summary>Lets the unimplemented fallback match only gRPC requests, so other two-segment paths stay 404.</summary>
    private sealed class GrpcRequestConstraint : IRouteConstraint
    {
        public bool Match(HttpContext? httpContext, IRouter? route, string routeKey, RouteValueDictionary values, RouteDirection routeDirection) =>
            httpContext is not null && GrpcProtocol.IsGrpcContentType(httpContext.Request.ContentType);
    }
}
