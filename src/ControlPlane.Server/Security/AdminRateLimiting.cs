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
                o.ExemptLoopback && IsLoopback(context) ? RateLimitPartition.GetNoLimiter("loopback") :
                RateLimitPartition.GetTokenBucketLimiter(PartitionKey(context), _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = o.PermitLimit,
                    TokensPerPeriod = o.TokensPerPeriod,
                    ReplenishmentPeriod = o.ReplenishmentPeriod,
                    QueueLimit = 0,
                    // The partitioned limiter replenishes all buckets from one timer.
                    AutoReplenishment = false,
                }));
            limiter.OnRejected = (rejected, _) => RejectAsync(rejected.HttpContext,
                rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) && after > TimeSpan.Zero ? after : o.ReplenishmentPeriod / o.TokensPerPeriod,
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
            if (failures.ExemptLoopback && IsLoopback(context))
            {
                await next(context).ConfigureAwait(false);
                return;
            }

            var address = RemoteAddress(context);
            if (!failures.MayTry(address))
            {
                await RejectAsync(context, failures.RetryAfter, "Too many failed authentications from this address; retry later.").ConfigureAwait(false);
                return;
            }

            await next(context).ConfigureAwait(false);
            if (IsUnauthenticated(context.Response))
            {
                failures.RecordFailure(address);
            }
        });
        admin.UseRateLimiter();
    }

    /// <summary>The bucket of a request: the authenticated principal, else the remote address.</summary>
    internal static string PartitionKey(HttpContext context) =>
        context.User.Identity is { IsAuthenticated: true, Name: { Length: > 0 } name } ? "principal:" + name : "address:" + RemoteAddress(context);

    private static bool IsLoopback(HttpContext context) =>
        context.Connection.RemoteIpAddress is { } ip && System.Net.IPAddress.IsLoopback(ip);

    private static string RemoteAddress(HttpContext context) => context.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    // 401 (HTTP), or UNAUTHENTICATED as a gRPC trailers-only answer.
    private static bool IsUnauthenticated(HttpResponse response) =>
        response.StatusCode == StatusCodes.Status401Unauthorized
        || (response.StatusCode == StatusCodes.Status200OK && response.Headers["grpc-status"] == "16");

    private static async ValueTask RejectAsync(HttpContext context, TimeSpan retryAfter, string detail)
    {
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
        RetryAfter = o.FailedAuthenticationPeriod / o.FailedAuthenticationTokensPerPeriod;
        ExemptLoopback = o.ExemptLoopback;
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

    /// <summary>Whether loopback callers skip these buckets.</summary>
    public bool ExemptLoopback { get; }

    /// <summary>The wait to advise a refused address: the time one failure takes to be forgiven.</summary>
    public TimeSpan RetryAfter { get; }

    /// <summary>Whether <paramref name="address"/> may still try: its bucket holds at least one whole token (the bucket
    /// refills continuously, so "not empty" would let an address through on a fraction of a token). Takes nothing.</summary>
    public bool MayTry(string address) => _limiter.GetStatistics(address) is not { CurrentAvailablePermits: < 1 };

    /// <summary>Takes one token for a failed authentication from <paramref name="address"/>.</summary>
    public void RecordFailure(string address) => _limiter.AttemptAcquire(address).Dispose();

    /// <inheritdoc />
    public void Dispose() => _limiter.Dispose();
}
