using Microsoft.Extensions.Options;

namespace ControlPlane.Service.Dashboard;

/// <summary>The node's last hour of dashboard samples: a fixed ring of <see cref="DashboardOptions.HistoryCapacity"/>
/// samples, each at most <see cref="DashboardOptions.MaxChartedEndpoints"/> points, so memory is bounded whatever the
/// uptime. Thread-safe (one writer, the sampler; readers are requests).</summary>
internal sealed class DashboardHistoryRing
{
    private readonly DashboardOptions _options;
    private readonly DashboardSample?[] _ring;
    private readonly Lock _lock = new();
    private int _next;
    private int _count;

    public DashboardHistoryRing(IOptions<DashboardOptions> options)
    {
        _options = options.Value;
        _ring = new DashboardSample?[_options.HistoryCapacity];
    }

    /// <summary>The number of samples held.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    /// <summary>Records the charted figures of <paramref name="snapshot"/> (the first endpoints, up to the limit),
    /// replacing the oldest sample once the ring is full.</summary>
    public void Record(DashboardSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var take = Math.Min(snapshot.Endpoints.Count, _options.MaxChartedEndpoints);
        var points = new DashboardPoint[take];
        for (var i = 0; i < take; i++)
        {
            var e = snapshot.Endpoints[i];
            points[i] = new DashboardPoint(e.Id, e.Requests, e.ErrorRate, e.LatencyP95Ms);
        }

        var sample = new DashboardSample(snapshot.At, points);
        lock (_lock)
        {
            _ring[_next] = sample;
            _next = (_next + 1) % _ring.Length;
            _count = Math.Min(_count + 1, _ring.Length);
        }
    }

    /// <summary>The samples taken at or after <paramref name="since"/>, oldest first.</summary>
    public DashboardHistory Since(DateTimeOffset since)
    {
        var samples = new List<DashboardSample>();
        lock (_lock)
        {
            var start = (_next - _count + _ring.Length) % _ring.Length;
            for (var i = 0; i < _count; i++)
            {
                if (_ring[(start + i) % _ring.Length] is { } sample && sample.At >= since)
                {
                    samples.Add(sample);
                }
            }
        }

        return new DashboardHistory(_options.SampleInterval.TotalSeconds, samples);
    }
}
