using System.Net;

namespace ControlPlane.Prober;

/// <summary>Options of a <see cref="ProberHost"/> (the CLI flags of <c>ControlPlane.Prober</c>, docs/evals.md).</summary>
public sealed class ProberOptions
{
    /// <summary>The control plane's data-plane gRPC address (<c>--control-plane</c>). Required.</summary>
    public Uri? ControlPlane { get; set; }

    /// <summary>The credential (API key with the <c>prober</c> role; <c>--credential-file</c>, else env
    /// <c>CONTROLPLANE_PROBER_CREDENTIAL</c>). Required.</summary>
    public string? Credential { get; set; }

    /// <summary>The upstreams file (<c>--upstreams</c>): every endpoint in it is probed. Required.</summary>
    public string? UpstreamsPath { get; set; }

    /// <summary>The golden set (<c>--golden</c>). Defaults to <c>deploy/evals/golden.yaml</c>.</summary>
    public string GoldenSetPath { get; set; } = "deploy/evals/golden.yaml";

    /// <summary>The fleet file (<c>--fleet</c>), for probe cost in USD from its prices; optional (no USD without it).</summary>
    public string? FleetPath { get; set; }

    /// <summary>Time between golden-set runs on a healthy endpoint (<c>--interval</c>).</summary>
    /// <value>Between 1 s and 1 day. Defaults to 60 s.</value>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Time between runs on an endpoint whose breaker is open or half-open (<c>--open-interval</c>), so its
    /// recovery gate can pass soon after the cooldown.</summary>
    /// <value>Between 1 s and <see cref="Interval"/>. Defaults to 10 s.</value>
    public TimeSpan OpenInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary><c>max_tokens</c> of each probe (<c>--max-tokens-per-probe</c>).</summary>
    /// <value>Between 1 and 4,096. Defaults to 64.</value>
    public int MaxTokensPerProbe { get; set; } = 64;

    /// <summary>Tokens (input + output) the prober may spend per UTC hour (<c>--budget-tokens-per-hour</c>); once spent,
    /// it stops probing until the next hour and logs it.</summary>
    /// <value>At least 1. Defaults to 200,000.</value>
    public long BudgetTokensPerHour { get; set; } = 200_000;

    /// <summary>Timeout of one probe call.</summary>
    /// <value>Between 100 ms and 5 min. Defaults to 30 s.</value>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Where the status endpoint listens (<c>--listen</c>, loopback; port 0 picks a free one).</summary>
    public IPEndPoint Listen { get; set; } = new(IPAddress.Loopback, 0);

    /// <summary>The clock (tests use a fake one for the budget's hour).</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public ProberOptions Validate()
    {
        if (ControlPlane is null || ControlPlane.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException("--control-plane: an http(s) address of the control plane's gRPC listener is required", nameof(ControlPlane));
        }

        if (string.IsNullOrWhiteSpace(Credential))
        {
            throw new ArgumentException("--credential-file (or CONTROLPLANE_PROBER_CREDENTIAL): a credential with the prober role is required", nameof(Credential));
        }

        if (string.IsNullOrWhiteSpace(UpstreamsPath))
        {
            throw new ArgumentException("--upstreams: the upstreams file is required", nameof(UpstreamsPath));
        }

        if (Interval < TimeSpan.FromSeconds(1) || Interval > TimeSpan.FromDays(1))
        {
            throw new ArgumentException($"--interval: must be between 1 s and 1 day (was {Interval})", nameof(Interval));
        }

        if (OpenInterval < TimeSpan.FromSeconds(1) || OpenInterval > Interval)
        {
            throw new ArgumentException($"--open-interval: must be between 1 s and --interval (was {OpenInterval})", nameof(OpenInterval));
        }

        if (MaxTokensPerProbe is < 1 or > 4096)
        {
            throw new ArgumentException($"--max-tokens-per-probe: must be between 1 and 4096 (was {MaxTokensPerProbe})", nameof(MaxTokensPerProbe));
        }

        if (BudgetTokensPerHour < 1)
        {
            throw new ArgumentException($"--budget-tokens-per-hour: must be at least 1 (was {BudgetTokensPerHour})", nameof(BudgetTokensPerHour));
        }

        if (ProbeTimeout < TimeSpan.FromMilliseconds(100) || ProbeTimeout > TimeSpan.FromMinutes(5))
        {
            throw new ArgumentException($"probe timeout: must be between 100 ms and 5 min (was {ProbeTimeout})", nameof(ProbeTimeout));
        }

        if (!IPAddress.IsLoopback(Listen.Address))
        {
            throw new ArgumentException("--listen: the status endpoint listens on loopback only", nameof(Listen));
        }

        return this;
    }
}
