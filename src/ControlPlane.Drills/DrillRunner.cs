using System.Diagnostics;
using System.Globalization;
using ControlPlane.Drills.Measurement;
using ControlPlane.Drills.Observation;
using ControlPlane.Drills.Report;
using ControlPlane.Drills.Scenarios;
using ControlPlane.Drills.Stack;
using ControlPlane.Drills.Targets;
using ControlPlane.Drills.Traffic;
using ControlPlane.Fleet;

namespace ControlPlane.Drills;

/// <summary>Runs one drill: starts the control plane, the simulator and the target, checks every class answers, then
/// drives the scenario's traffic while the simulator plays its faults and the watchers poll the control plane and the
/// simulator; then measures, judges the targets and writes <c>report.html</c> and <c>summary.json</c>.</summary>
public sealed class DrillRunner
{
    private static readonly TimeSpan WarmUpBudget = TimeSpan.FromSeconds(60);

    private readonly DrillComponents _components;
    private readonly TextWriter _log;
    private readonly bool _interactive;
    private readonly TimeProvider _time;

    /// <summary>Creates a runner; progress and log lines go to <paramref name="log"/> (a bar when
    /// <paramref name="interactive"/>).</summary>
    public DrillRunner(DrillComponents components, TextWriter log, bool interactive, TimeProvider? time = null)
    {
        _components = components;
        _log = log;
        _interactive = interactive;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>Loads and checks the scenario against the fleet; the scaled scenario when <paramref name="short"/>.</summary>
    /// <exception cref="DrillScenarioException">The scenario is invalid or names what the fleet does not have.</exception>
    public static DrillScenario LoadScenario(string path, FleetDefinition fleet, bool @short, DrillTuning tuning)
    {
        var scenario = DrillScenarioReader.LoadFile(path);
        var problems = new List<string>();
        foreach (var fault in scenario.Faults)
        {
            if (!fleet.TryGetEndpoint(fault.Endpoint, out _))
            {
                problems.Add($"{path}:{fault.Line}:1: faults: endpoint '{fault.Endpoint}' is not in the fleet ({fleet.SourceName})");
            }
        }

        foreach (var name in scenario.Traffic.Classes.Keys)
        {
            if (!fleet.TryGetClass(name, out _))
            {
                problems.Add($"{path}: traffic.classes.{name}: not a class of the fleet ({fleet.SourceName})");
            }
        }

        if (problems.Count > 0)
        {
            throw new DrillScenarioException(problems);
        }

        return @short ? scenario.Scaled(DrillRunOptions.ShortDivisor, DrillRunOptions.ShortMinFault, tuning.RecoveryLimit(2)) : scenario;
    }

    /// <summary>Runs the drill and writes its report; returns the summary (its <see cref="DrillSummary.Pass"/> says
    /// whether every target held).</summary>
    public async Task<DrillSummary> RunAsync(DrillRunOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var fleet = FleetLoader.LoadFile(options.FleetPath);
        var scenario = LoadScenario(options.ScenarioPath, fleet, options.Short, options.Tuning);
        var factory = _components.Targets.FirstOrDefault(t => t.Name == options.Target)
            ?? throw new ArgumentException($"--target: unknown target '{options.Target}' (known: {string.Join(", ", _components.Targets.Select(t => t.Name))})");
        var outDir = Path.GetFullPath(Path.Combine(options.OutputDirectory, scenario.Name));
        Directory.CreateDirectory(outDir);
        var work = Path.Combine(Path.GetTempPath(), "controlplane-drill-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(work);
        try
        {
            await Log($"drill {scenario.Name}: {scenario.Description} ({F(scenario.Duration.TotalSeconds)} s{(options.Short ? ", short" : "")}, target {options.Target} ×{options.Replicas})").ConfigureAwait(false);
            await using var controlPlane = await _components.StartControlPlane(
                new ControlPlaneLaunch(options.FleetPath, fleet, options.Tuning, options.ClusterNodes, work), cancellationToken).ConfigureAwait(false);
            await Log($"control plane: {controlPlane.Description}, admin {controlPlane.AdminUri}").ConfigureAwait(false);
            await using var simulator = await _components.StartSimulator(options.FleetPath, options.ScenarioPath, scenario.Seed, work, cancellationToken).ConfigureAwait(false);
            await Log($"simulator: admin {simulator.AdminUri}").ConfigureAwait(false);
            await using var target = await factory.StartAsync(new DrillTargetContext(controlPlane, simulator, fleet, options.Replicas, work), cancellationToken).ConfigureAwait(false);
            await Log($"target: {string.Join(", ", target.Replicas.Select(r => r.BaseUri))}").ConfigureAwait(false);
            return await DriveAsync(options, fleet, scenario, controlPlane, simulator, target, outDir, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            TryDelete(work);
        }
    }

    private async Task<DrillSummary> DriveAsync(DrillRunOptions options, FleetDefinition fleet, DrillScenario scenario, IDrillControlPlane controlPlane,
        IDrillSimulator simulator, IDrillTargetHost target, string outDir, CancellationToken cancellationToken)
    {
        var classes = fleet.Classes.Select(c => c.Name).ToArray();
        using var http = TrafficDriver.CreateClient();
        var clock = new DrillClock(_time);
        await WarmUpAsync(http, target.Replicas, fleet, controlPlane, clock, scenario.Name, cancellationToken).ConfigureAwait(false);

        using var cpWatcher = new ControlPlaneWatcher(controlPlane.AdminUri, controlPlane.ApiKey, clock, [.. fleet.Endpoints.Select(e => e.Id)]);
        using var simWatcher = new SimulatorWatcher(simulator.AdminUri, clock);
        var driver = new TrafficDriver(http, target.Replicas, clock, scenario.Name, options.RequestTimeout);
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        clock.Start();
        await simWatcher.PollOnceAsync(cancellationToken).ConfigureAwait(false);
        await simWatcher.ScheduleAsync(scenario.Faults, scenario.Duration, cancellationToken).ConfigureAwait(false);
        var watchers = Task.WhenAll(cpWatcher.RunAsync(watching.Token), simWatcher.RunAsync(watching.Token),
            new ProgressReporter(_log, _interactive, _time).RunAsync(() => Status(clock, scenario, driver, cpWatcher), watching.Token));
        try
        {
            await driver.RunAsync(classes, scenario.Traffic, scenario.Duration, options.Drain, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await watching.CancelAsync().ConfigureAwait(false);
            await watchers.ConfigureAwait(false);
        }

        await simWatcher.PollOnceAsync(cancellationToken).ConfigureAwait(false);
        var budgets = await cpWatcher.ReadBudgetsAsync(classes, cancellationToken).ConfigureAwait(false);
        var endpointHealth = await cpWatcher.ReadEndpointsAsync(cancellationToken).ConfigureAwait(false);
        var summary = Measure(fleet, scenario, options, clock.StartedAt, driver.Sent, driver.Samples, simWatcher.Counts, cpWatcher.Breakers, cpWatcher.Alerts, budgets)
            with { FailedAdminPolls = cpWatcher.FailedPolls, ControlPlaneEndpoints = endpointHealth };
        await File.WriteAllTextAsync(Path.Combine(outDir, "summary.json"), summary.ToJson(), cancellationToken).ConfigureAwait(false);
        await File.WriteAllTextAsync(Path.Combine(outDir, "report.html"), ReportHtml.Render(summary), cancellationToken).ConfigureAwait(false);
        foreach (var line in summary.Targets)
        {
            await Log(line.ToString()).ConfigureAwait(false);
        }

        await Log($"{(summary.Pass ? "PASS" : "FAIL")}: report {Path.Combine(outDir, "report.html")}").ConfigureAwait(false);
        return summary;
    }

    /// <summary>Every figure and verdict of a drill from what it recorded (pure: the unit tests feed it synthetic samples).</summary>
    internal static DrillSummary Measure(FleetDefinition fleet, DrillScenario scenario, DrillRunOptions options, DateTimeOffset startedAt, long sent,
        IReadOnlyCollection<RequestSample> samples, IReadOnlyCollection<SimulatorCount> counts, IReadOnlyCollection<BreakerSample> breakers,
        IReadOnlyCollection<AlertSample> alerts, IReadOnlyList<ClassBudgetSample> budgets)
    {
        var seconds = (int)Math.Ceiling(scenario.Duration.TotalSeconds) + 1;
        (decimal, decimal)? Price(string id) => fleet.Catalog.TryGetValue(id, out var d) ? (d.PricePer1kInput, d.PricePer1kOutput) : null;
        var classReports = fleet.Classes.Select(c => ClassReport.Of(c.Name, samples.Where(s => s.Class == c.Name), Price)).ToList();
        var attempts = TrafficSeries.AttemptsPerSecond(counts, seconds);
        var incidents = new List<IncidentReport>();
        foreach (var fault in scenario.Faults)
        {
            var routed = fleet.Classes.Where(c => DrillTargets.Routes(c.Policy, fault.Endpoint)).Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
            var endpointAttempts = attempts.TryGetValue(fault.Endpoint, out var a) ? a : new long[seconds];
            var requests = TrafficSeries.RequestsPerSecond(samples, routed, seconds);
            incidents.Add(IncidentAnalyzer.Analyze(fault, scenario.Duration, endpointAttempts, requests, breakers, alerts, routed,
                MovesTraffic(fault, fleet), options.Tuning));
        }

        var traffic = attempts.Count > 0 ? attempts : TrafficSeries.ServedPerSecond(samples, seconds);
        return new DrillSummary
        {
            Scenario = scenario.Name,
            Description = scenario.Description,
            Target = options.Replicas > 1 ? $"{options.Target} ×{options.Replicas}" : options.Target,
            Short = options.Short,
            StartedAt = startedAt,
            DurationSeconds = scenario.Duration.TotalSeconds,
            RequestsSent = sent,
            Classes = classReports,
            Incidents = incidents,
            ControlPlaneBudgets = budgets,
            Targets = DrillTargets.Evaluate(fleet, incidents, classReports, samples),
            TrafficByEndpoint = traffic,
            TrafficBasis = attempts.Count > 0 ? "attempts each endpoint received per second (simulator counters)" : "answers per serving endpoint per second",
        };
    }

    /// <summary>Whether the control plane is meant to take traffic off an endpoint with this fault: outages, 429
    /// storms, latency and quality drift do; a model change only on an endpoint whose fleet entry says
    /// <c>on_model_change: drain</c>; a reduced context window (a per-request failure the proxy retries elsewhere)
    /// and runaway output (a cost alert) do not.</summary>
    internal static bool MovesTraffic(DrillFault fault, FleetDefinition fleet) => fault.Kind switch
    {
        FaultKind.Outage or FaultKind.RateLimit or FaultKind.Latency or FaultKind.QualityDrift => true,
        FaultKind.ModelChange => fleet.TryGetEndpoint(fault.Endpoint, out var e) && e.OnModelChange == ModelChangeAction.Drain,
        _ => false,
    };

    private async Task WarmUpAsync(HttpClient http, IReadOnlyList<IDrillTarget> targets, FleetDefinition fleet, IDrillControlPlane controlPlane, DrillClock clock,
        string scenario, CancellationToken cancellationToken)
    {
        // One answered request per class and replica before the clock starts: the stack is up, leases are held, and
        // a drill rarely measures start-up as an incident. A class that gets no answer within the warm-up budget is
        // reported (with its primaries' admin views) and drilled anyway: its unavailability then shows in the report.
        var deadline = Stopwatch.StartNew();
        var probe = new TrafficDriver(http, targets, clock, scenario + "-warmup", TimeSpan.FromSeconds(30));
        foreach (var definition in fleet.Classes)
        {
            for (var i = 0; i < targets.Count; i++)
            {
                for (var attempt = 1; ; attempt++)
                {
                    var sample = await probe.SendOneAsync(definition.Name, attempt, i, cancellationToken).ConfigureAwait(false);
                    if (sample.Ok)
                    {
                        break;
                    }

                    await Log($"warm-up: {definition.Name} via {targets[i].BaseUri}: {sample.Error} (served by {sample.Served.Endpoint ?? "-"}, {sample.Served.Attempts} attempt(s))").ConfigureAwait(false);
                    if (deadline.Elapsed > WarmUpBudget)
                    {
                        await LogEndpointsAsync(controlPlane, definition.Policy.Primary, cancellationToken).ConfigureAwait(false);
                        await Log($"warm-up: {definition.Name} got no answer within {WarmUpBudget.TotalSeconds:0} s; drilling it anyway").ConfigureAwait(false);
                        break;
                    }

                    await Task.Delay(500, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    private async Task LogEndpointsAsync(IDrillControlPlane controlPlane, IEnumerable<string> endpoints, CancellationToken cancellationToken)
    {
        using var admin = new HttpClient { BaseAddress = controlPlane.AdminUri, Timeout = TimeSpan.FromSeconds(5) };
        admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", controlPlane.ApiKey);
        foreach (var id in endpoints)
        {
            try
            {
                var view = await admin.GetStringAsync($"admin/v1/endpoints/{Uri.EscapeDataString(id)}", cancellationToken).ConfigureAwait(false);
                await Log($"endpoint {id}: {(view.Length > 2000 ? view[..2000] : view)}").ConfigureAwait(false);
            }
            catch (HttpRequestException e)
            {
                await Log($"endpoint {id}: admin view unavailable: {e.Message}").ConfigureAwait(false);
            }
        }
    }

    private static (double, string) Status(DrillClock clock, DrillScenario scenario, TrafficDriver driver, ControlPlaneWatcher watcher)
    {
        var now = clock.Now;
        var active = scenario.Faults.Where(f => f.Start.TotalSeconds <= now && now < f.EndWithin(scenario.Duration).TotalSeconds)
            .Select(f => $"{f.KindName}@{f.Endpoint}").ToArray();
        var open = watcher.Breakers.Where(b => b.At >= now - 1.5 && b.State != "closed").Select(b => b.Endpoint).Distinct().ToArray();
        return (now / scenario.Duration.TotalSeconds, string.Create(CultureInfo.InvariantCulture,
            $"{now,5:0}/{scenario.Duration.TotalSeconds:0} s  sent {driver.Sent}  done {driver.Completed}  faults [{string.Join(' ', active)}]  open [{string.Join(' ', open)}]"));
    }

    private Task Log(string line) => _log.WriteLineAsync(line);

    private static string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
