using ControlPlane.Domain.Baselines;
using ControlPlane.Domain.Health;

namespace ControlPlane.Service.Grains;

/// <summary>A persisted <see cref="DecayedMean"/>.</summary>
/// <param name="Sum">Decayed sum of observed values.</param>
/// <param name="Weight">Decayed sum of weights.</param>
/// <param name="LastAt">Time of the last observation.</param>
/// <param name="Observations">Observations made (a seed counts as trusted).</param>
public sealed record MeanState(double Sum, double Weight, DateTimeOffset? LastAt, long Observations)
{
    internal static MeanState? Of(in DecayedMean mean) =>
        mean.Observations == 0 ? null : new(mean.WeightedSum, mean.Weight, mean.LastAt, mean.Observations);

    internal static DecayedMean To(MeanState? state) =>
        state is { } s && double.IsFinite(s.Sum) && double.IsFinite(s.Weight) && s.Weight >= 0 && s.Observations >= 0
            ? DecayedMean.Restore(s.Sum, s.Weight, s.LastAt, s.Observations)
            : default;
}

/// <summary>The persisted baselines of one health track of an endpoint (the endpoint-wide one when
/// <paramref name="WorkloadClass"/> is null); only metrics with observations are kept.</summary>
public sealed record TrackBaselineState(string? WorkloadClass, MeanState? LatencyP95Micros, MeanState? TtftP95Micros,
    MeanState? QualityPassRate, MeanState? CostPerSuccess);

/// <summary>Exports and restores the rolling baselines of an <see cref="EndpointHealth"/>, so a restart or a move does
/// not leave its latency and quality breakers without a baseline for half an hour.</summary>
internal static class BaselineStates
{
    /// <summary>One record per track that has observed anything, endpoint-wide first.</summary>
    public static List<TrackBaselineState> Export(EndpointHealth health)
    {
        var states = new List<TrackBaselineState>();
        Add(states, null, health.Endpoint);
        foreach (var name in health.WorkloadClasses.Order(StringComparer.Ordinal))
        {
            Add(states, name, health.Class(name)!);
        }

        return states;
    }

    /// <summary>Restores every saved track (a class track is created for it, up to the class limit).</summary>
    public static void Restore(EndpointHealth health, IEnumerable<TrackBaselineState>? saved)
    {
        foreach (var s in saved ?? [])
        {
            health.Track(s.WorkloadClass)?.Baseline.Restore(MeanState.To(s.LatencyP95Micros), MeanState.To(s.TtftP95Micros),
                MeanState.To(s.QualityPassRate), MeanState.To(s.CostPerSuccess));
        }
    }

    private static void Add(List<TrackBaselineState> states, string? name, HealthTrack track)
    {
        var (latency, ttft, pass, cost) = track.Baseline.State;
        var state = new TrackBaselineState(name, MeanState.Of(latency), MeanState.Of(ttft), MeanState.Of(pass), MeanState.Of(cost));
        if (state.LatencyP95Micros is not null || state.TtftP95Micros is not null || state.QualityPassRate is not null || state.CostPerSuccess is not null)
        {
            states.Add(state);
        }
    }
}
