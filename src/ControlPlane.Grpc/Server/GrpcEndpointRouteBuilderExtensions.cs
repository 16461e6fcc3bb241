using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Grpc.Server;

/// <summary>Puts the registered gRPC services on the ASP.NET Core pipeline.</summary>
public static class GrpcEndpointRouteBuilderExtensions
{
    /// <summary>Maps every method of every registered service at <c>/{service}/{method}</c> with endpoint
    /// routing, plus a fallback that answers other gRPC requests with UNIMPLEMENTED (HTTP 200, Trailers-Only).
    /// Composes with other endpoints; <see cref="UseGrpcServices"/> is the faster choice for a gRPC port.</summary>
    public static IEndpointRouteBuilder MapGrpcServices(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var dispatcher = CreateDispatcher(endpoints.ServiceProvider);
        foreach (var method in dispatcher.Methods)
        {
            var handler = method;
            endpoints.Map(RoutePatternFactory.Parse(method.Path), http =>
                {
                    // Routing matches case-insensitively; gRPC paths are case-sensitive.
                    return string.Equals(http.Request.Path.Value, handler.Path, StringComparison.Ordinal)
                        ? handler.HandleCallAsync(http, dispatcher.Runtime)
                        : dispatcher.HandleUnimplementedAsync(http);
                })
                .WithDisplayName("gRPC " + method.Path);
        }

        var constraint = new RouteValueDictionary { ["method"] = new GrpcRequestConstraint() };
        endpoints.Map(RoutePatternFactory.Parse("/{service}/{method}", defaults: null, parameterPolicies: constraint), dispatcher.HandleUnimplementedAsync)
            .WithDisplayName("gRPC unimplemented");
        return endpoints;
    }

    /// <summary>Serves the registered gRPC services from a middleware, before (and without) endpoint routing:
    /// a registered path runs its method, any other request with a gRPC content type gets UNIMPLEMENTED,
    /// and everything else goes on to the rest of the pipeline. Call it before <c>UseRouting</c>.</summary>
    public static IApplicationBuilder UseGrpcServices(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var dispatcher = CreateDispatcher(app.ApplicationServices);
        var runtime = dispatcher.Runtime;
        return app.Use(next => http =>
        {
            if (dispatcher.TryGetMethod(http.Request.Path.Value, out var handler))
            {
                return handler.HandleCallAsync(http, runtime);
            }

            return GrpcProtocol.IsGrpcContentType(http.Request.ContentType)
                ? dispatcher.HandleUnimplementedAsync(http)
                : next(http);
        });
    }

    private static GrpcServiceDispatcher CreateDispatcher(IServiceProvider services)
    {
        var runtime = services.GetService<GrpcServerRuntime>()
            ?? throw new InvalidOperationException("Call services.AddGrpcServer() before mapping the gRPC services.");
        return new GrpcServiceDispatcher(services.GetRequiredService<GrpcServiceRegistry>(), runtime);
    }

    /// <summary>Lets the unimplemented fallback match only gRPC requests, so other two-segment paths stay 404.</summary>
    private sealed class GrpcRequestConstraint : IRouteConstraint
    {
        public bool Match(HttpContext? httpContext, IRouter? route, string routeKey, RouteValueDictionary values, RouteDirection routeDirection) =>
            httpContext is not null && GrpcProtocol.IsGrpcContentType(httpContext.Request.ContentType);
    }
}
