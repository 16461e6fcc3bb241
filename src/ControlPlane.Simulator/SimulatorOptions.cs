using System.Net;
using ControlPlane.Fleet;
using ControlPlane.Simulator.Scenario;

namespace ControlPlane.Simulator;

/// <summary>How a <see cref="SimulatorHost"/> runs. Give the fleet as <see cref="Fleet"/> or <see cref="FleetPath"/>,
/// and a scenario (optional) as <see cref="Scenario"/> or <see cref="ScenarioPath"/>.</summary>
public sealed class SimulatorOptions
{
    /// <summary>The largest request body accepted (default 1 MiB); larger bodies get 413.</summary>
    public const long DefaultMaxRequestBodyBytes = 1024 * 1024;

    /// <summary>The fleet whose endpoints are simulated (wins over <see cref="FleetPath"/>).</summary>
    public FleetDefinition? Fleet { get; set; }

    /// <summary>The fleet file (<c>--fleet</c>).</summary>
    public string? FleetPath { get; set; }

    /// <summary>The scenario (wins over <see cref="ScenarioPath"/>); null: no scripted faults.</summary>
    public SimulatorScenario? Scenario { get; set; }

    /// <summary>The scenario file (<c>--scenario</c>).</summary>
    public string? ScenarioPath { get; set; }

    /// <summary>The seed (<c>--seed</c>); null: the scenario's seed, else 1.</summary>
    public int? Seed { get; set; }

    /// <summary>The address the endpoints listen on (<c>--host</c>, default 127.0.0.1). The admin API is loopback only.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>The admin API's port (<c>--admin-port</c>); 0 (default): any free port.</summary>
    public int AdminPort { get; set; }

    /// <summary>The first endpoint's port (<c>--base-port</c>); the n-th endpoint of the fleet gets base + n. 0 (default):
    /// each endpoint gets any free port.</summary>
    public int BasePort { get; set; }

    /// <summary>Where to write the upstreams file once started (<c>--upstreams-out</c>); null: not written.</summary>
    public string? UpstreamsOut { get; set; }

    /// <summary>Multiplies every simulated delay (<c>--latency-scale</c>, default 1); 0 answers at once.</summary>
    public double LatencyScale { get; set; } = 1;

    /// <summary>True (<c>--hold</c>): the scenario clock waits for <c>POST /sim/v1/clock/start</c>.</summary>
    public bool Hold { get; set; }

    /// <summary>The largest request body accepted.</summary>
    public long MaxRequestBodyBytes { get; set; } = DefaultMaxRequestBodyBytes;

    /// <summary>The most messages one request may carry (default 1024).</summary>
    public int MaxMessages { get; set; } = 1024;

    /// <summary>How often fault starts and ends are checked to close and reopen refused ports (default 100 ms).</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>The clock of the scenario, the faults and the delays (tests use a fake one).</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid option.</summary>
    public void Validate()
    {
        if (Fleet is null && string.IsNullOrWhiteSpace(FleetPath))
        {
            throw new ArgumentException("A fleet is required (--fleet FILE).", nameof(FleetPath));
        }

        if (!IPAddress.TryParse(Host, out _))
        {
            throw new ArgumentException($"--host must be an IP address, got '{Host}'.", nameof(Host));
        }

        if (AdminPort is < 0 or > 65535)
        {
            throw new ArgumentException("--admin-port must be between 0 and 65535.", nameof(AdminPort));
        }

        if (BasePort is < 0 or > 65535)
        {
            throw new ArgumentException("--base-port must be between 0 and 65535.", nameof(BasePort));
        }

        if (!double.IsFinite(LatencyScale) || LatencyScale is < 0 or > 100)
        {
            throw new ArgumentException("--latency-scale must be between 0 and 100.", nameof(LatencyScale));
        }

        if (MaxRequestBodyBytes is < 1024 or > 64 * 1024 * 1024)
        {
            throw new ArgumentException("MaxRequestBodyBytes must be between 1 KiB and 64 MiB.", nameof(MaxRequestBodyBytes));
        }

        if (MaxMessages is < 1 or > 100_000)
        {
            throw new ArgumentException("MaxMessages must be between 1 and 100000.", nameof(MaxMessages));
        }

        if (ReconcileInterval < TimeSpan.FromMilliseconds(10) || ReconcileInterval > TimeSpan.FromMinutes(1))
        {
            throw new ArgumentException("ReconcileInterval must be between 10 ms and 1 minute.", nameof(ReconcileInterval));
        }

        ArgumentNullException.ThrowIfNull(TimeProvider);
    }
}
