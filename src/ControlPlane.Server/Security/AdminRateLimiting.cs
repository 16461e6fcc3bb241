using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace ControlPlane.Server.Security;

/// <summary>Rate limiting of the admin listener on the ASP.NET Core rate limiter: a token bucket per authenticated
/// principal (per remote address without one), and a stricter per-address bucket that failed authentications draw
/// from. A refused request is answered 429 problem+json with <c>Retry-After</c> before it reaches any route, so it
/// changes nothing. The data plane is never limited here (its hot path takes no extra lookup).</summary>
internal static class AdminRateLimiting
{
    /// <summary>Registers the limiter, the failed-authentication buckets and the validated options
    /// (section <see cref="AdminRateLimitOptions.Section"/>).</summary>
    public static IServiceCollection AddAdminRateLimiting(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<AdminRateLimitOptions>().BindConfiguration(AdminRateLimitOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AdminRateLimitOptions>, AdminRateLimitOptionsValidator>());
        services.TryAddSingleton<FailedAuthenticationLimiter>();
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<AdminRateLimitOptions>>((limiter, admin) =>
        {
            var o = admin.Value;
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context =>
                RateLimitPartition.GetTokenBucketLimiter(PartitionKey(context), _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = o.PermitLimit,
                    TokensPerPeriod = o.TokensPerPeriod,
                    ReplenishmentPeriod = o.ReplenishmentPeriod,
                    QueueLimit = 0,
                    // The partitioned limiter replenishes all buckets from one timer.
                    AutoReplenishment = false,
                }));
            limiter.OnRejected = (rejected, _) => RejectAsync(rejected.HttpContext, rejected.Lease, o.ReplenishmentPeriod / o.TokensPerPeriod,
                "Too many admin requests from this principal; retry later.");
        });
        return services;
    }

    /// <summary>Adds the limits to a pipeline branch (the admin listener's). Place it after authentication, so callers
    /// with credentials are counted per principal.</summary>
    public static void UseAdminRateLimiting(this IApplicationBuilder admin)
    {
        ArgumentNullException.ThrowIfNull(admin);
        var failures = admin.ApplicationServices.GetRequiredService<FailedAuthenticationLimiter>();
        admin.Use(async (context, next) =>
        {
            var address = RemoteAddress(context);
            using (var check = failures.Check(address))
            {
                if (!check.IsAcquired)
                {
                    await RejectAsync(context, check, failures.RetryFallback,
                        "Too many failed authentications from this address; retry later.").ConfigureAwait(false);
                    return;
                }
            }

            await next(context).ConfigureAwait(false);
            if (context.Response.StatusCode == StatusCodes.Status401Unauthorized)
            {
                failures.RecordFailure(address);
            }
        });
        admin.UseRateLimiter();
    }

    /// <summary>The bucket of a request: the authenticated principal, else the remote address.</summary>
    internal static string PartitionKey(HttpContext context) =>
        context.User.Identity is { IsAuthenticated: true, Name: { Length: > 0 } name } ? "principal:" + name : "address:" + RemoteAddress(context);

    private static string RemoteAddress(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    private static async ValueTask RejectAsync(HttpContext context, RateLimitLease lease, TimeSpan fallback, string detail)
    {
        var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var after) && after > TimeSpan.Zero ? after : fallback;
        var seconds = (long)Math.Max(1, Math.Ceiling(retryAfter.TotalSeconds));
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        if (context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true)
        {
            // A gRPC caller (the Admin service) gets RESOURCE_EXHAUSTED as a trailers-only answer, not an HTTP error
            // its client would report as UNAVAILABLE.
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["grpc-status"] = "8";
            context.Response.Headers["grpc-message"] = Uri.EscapeDataString($"{detail} Retry after {seconds} s.");
            return;
        }

        context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        await Results.Problem(
            detail: detail,
            statusCode: StatusCodes.Status429TooManyRequests,
            title: "Too many requests",
            extensions: new Dictionary<string, object?> { ["retryAfterSeconds"] = seconds })
            .ExecuteAsync(context).ConfigureAwait(false);
    }
}

/// <summary>Per remote address, a token bucket that only failed authentications take from; an address whose bucket is
/// empty is refused until it refills.</summary>
internal sealed class FailedAuthenticationLimiter : IDisposable
{
    private readonly PartitionedRateLimiter<string> _limiter;

    public FailedAuthenticationLimiter(IOptions<AdminRateLimitOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = options.Value;
        RetryFallback = o.FailedAuthenticationPeriod / o.FailedAuthenticationTokensPerPeriod;
        _limiter = PartitionedRateLimiter.Create<string, string>(address =>
            RateLimitPartition.GetTokenBucketLimiter(address, _ => new TokenBucketRateLimiterOptions
            {
                TokenLimit = o.FailedAuthenticationLimit,
                TokensPerPeriod = o.FailedAuthenticationTokensPerPeriod,
                ReplenishmentPeriod = o.FailedAuthenticationPeriod,
                QueueLimit = 0,
                AutoReplenishment = false,
            }));
    }

    /// <summary>The wait to advise when the limiter gives none: the time one failure takes to be forgiven.</summary>
    public TimeSpan RetryFallback { get; }

    /// <summary>Whether <paramref name="address"/> may still try (its bucket is not empty); takes nothing.</summary>
    public RateLimitLease Check(string address) => _limiter.AttemptAcquire(address, 0);

    /// <summary>Takes one token for a failed authentication from <paramref name="address"/>.</summary>
    public void RecordFailure(string address) => _limiter.AttemptAcquire(address).Dispose();

    /// <inheritdoc />
    public void Dispose() => _limiter.Dispose();
}
