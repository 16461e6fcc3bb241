using System.Net;
using ControlPlane.Client;
using ControlPlane.Providers;

namespace ControlPlane.Proxy;

/// <summary>Options of <see cref="ProxyHost"/>.</summary>
public sealed class ProxyOptions
{
    /// <summary>The control plane's data-plane gRPC address (e.g. <c>http://127.0.0.1:50051</c>). Required.</summary>
    public Uri? ControlPlane { get; set; }

    /// <summary>The data-plane credential (API key or JWT) presented to the control plane; null sends none.
    /// <value>Defaults to null.</value></summary>
    public string? Credential { get; set; }

    /// <summary>Where each fleet endpoint is reached (the upstreams file, <see cref="UpstreamsFile"/>). Required.</summary>
    public IReadOnlyDictionary<string, UpstreamEndpoint>? Upstreams { get; set; }

    /// <summary>Where the proxy listens (HTTP/1.1).
    /// <value>Defaults to 127.0.0.1:8080; port 0 picks a free port (see <see cref="ProxyHost.BaseUri"/>).</value></summary>
    public IPEndPoint Listen { get; set; } = new(IPAddress.Loopback, 8080);

    /// <summary>Proxy API keys and the workload class each maps to (<see cref="ClassKeysFile"/>). When set, every request
    /// must carry one of them as <c>Authorization: Bearer</c> (else 401). <value>Defaults to null (no keys).</value></summary>
    public IReadOnlyDictionary<string, string>? ClassKeys { get; set; }

    /// <summary>Whether <c>X-Workload-Class: &lt;class&gt;</c> names the class (it wins over the key's class; turn it off
    /// to pin each key to its class). <value>Defaults to true.</value></summary>
    public bool ClassHeader { get; set; } = true;

    /// <summary>Largest request body accepted (a larger one is answered 413).
    /// <value>Must be between 1 KiB and 64 MiB. Defaults to 4 MiB.</value></summary>
    public int MaxRequestBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Longest client deadline (<c>X-ControlPlane-Deadline-Ms</c>) accepted.
    /// <value>Must be between 1 s and 1 h. Defaults to 10 min.</value></summary>
    public TimeSpan MaxDeadline { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Deadline of a Route call when the request has no deadline of its own.
    /// <value>As <see cref="ControlPlaneClientOptions.RouteTimeout"/>. Defaults to 2 s.</value></summary>
    public TimeSpan RouteTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long an outcome waits before its batch is sent.
    /// <value>As <see cref="OutcomeReporterOptions.FlushInterval"/>. Defaults to 50 ms.</value></summary>
    public TimeSpan ReportFlushInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Attempts per request and their backoff (queue_only holds are always waited out within the deadline).
    /// <value>Defaults to the SDK's defaults.</value></summary>
    public RoutedExecutorOptions Executor { get; set; } = new();

    /// <summary>How much of a streamed half-open probe (route reason <c>half_open_probe</c>: the first requests sent to an
    /// endpoint that was failing) is held back from the caller, so that a probe that fails mid-stream is retried on the
    /// next endpoint instead of cutting the caller's answer. Past it the stream passes through. The probe's caller sees
    /// its first token later (when the answer is complete); the endpoint's TTFT is measured upstream as always.
    /// <value>Must be between 0 (off) and 64 MiB. Defaults to 1 MiB.</value></summary>
    public int ProbeBufferBytes { get; set; } = 1024 * 1024;

    /// <summary>Upstream connection tuning and bounds. <value>Defaults to the Providers defaults.</value></summary>
    public ProviderClientOptions Provider { get; set; } = new();

    /// <summary>Whether the host logs to the console (warnings and the start line). <value>Defaults to false.</value></summary>
    public bool ConsoleLogging { get; set; }

    /// <summary>The clock (latencies, backoff, hold waits). <value>Defaults to the system clock.</value></summary>
    public TimeProvider Time { get; set; } = TimeProvider.System;

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad option.</summary>
    public ProxyOptions Validate()
    {
        if (ControlPlane is null || !ControlPlane.IsAbsoluteUri || (ControlPlane.Scheme != Uri.UriSchemeHttp && ControlPlane.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException("ProxyOptions.ControlPlane must be an absolute http or https address.", nameof(ControlPlane));
        }

        if (Upstreams is null)
        {
            throw new ArgumentException("ProxyOptions.Upstreams is required (the upstreams file).", nameof(Upstreams));
        }

        ArgumentNullException.ThrowIfNull(Listen, nameof(Listen));
        if (MaxRequestBytes is < 1024 or > 64 * 1024 * 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxRequestBytes), MaxRequestBytes, "ProxyOptions.MaxRequestBytes must be between 1 KiB and 64 MiB.");
        }

        if (MaxDeadline < TimeSpan.FromSeconds(1) || MaxDeadline > TimeSpan.FromHours(1))
        {
            throw new ArgumentOutOfRangeException(nameof(MaxDeadline), MaxDeadline, "ProxyOptions.MaxDeadline must be between 1 s and 1 h.");
        }

        if (ProbeBufferBytes is < 0 or > 64 * 1024 * 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(ProbeBufferBytes), ProbeBufferBytes, "ProxyOptions.ProbeBufferBytes must be between 0 and 64 MiB.");
        }

        if (ClassKeys is not null)
        {
            foreach (var (key, workloadClass) in ClassKeys)
            {
                if (!ClassKeysFile.IsValidKey(key) || !ClassKeysFile.IsValidClass(workloadClass))
                {
                    throw new ArgumentException("ProxyOptions.ClassKeys holds a key or class name that is not valid.", nameof(ClassKeys));
                }
            }
        }

        Executor.Validate();
        Provider.Validate();
        ArgumentNullException.ThrowIfNull(Time, nameof(Time));
        return this;
    }
}
