using System.Threading.Channels;
using Grpc.Health.V1;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace ControlPlane.Grpc.Health;

/// <summary>The serving status of each service this node hosts, as <c>grpc.health.v1.Health</c>
/// reports it. The empty name stands for the whole server and starts SERVING. On shutdown every
/// status becomes NOT_SERVING and later changes are ignored (as grpc-go's health server does).</summary>
public sealed class HealthStatusRegistry
{
    private readonly object _gate = new();
    private readonly Dictionary<string, ServingStatus> _statuses = new(StringComparer.Ordinal) { [""] = ServingStatus.Serving };
    private readonly Dictionary<string, List<Channel<ServingStatus>>> _watchers = new(StringComparer.Ordinal);
    private bool _shutDown;

    /// <summary>True once <see cref="Shutdown"/> ran.</summary>
    public bool IsShutDown
    {
        get
        {
            lock (_gate)
            {
                return _shutDown;
            }
        }
    }

    /// <summary>Sets the status of <paramref name="service"/> ("" for the whole server).</summary>
    public void SetStatus(string service, ServingStatus status)
    {
        ArgumentNullException.ThrowIfNull(service);
        lock (_gate)
        {
            if (_shutDown)
            {
                return;
            }

            _statuses[service] = status;
            Publish(service, status);
        }
    }

    /// <summary>Forgets <paramref name="service"/>: Check answers NOT_FOUND, watchers see SERVICE_UNKNOWN.</summary>
    public void ClearStatus(string service)
    {
        ArgumentNullException.ThrowIfNull(service);
        lock (_gate)
        {
            if (!_shutDown && _statuses.Remove(service))
            {
                Publish(service, ServingStatus.ServiceUnknown);
            }
        }
    }

    /// <summary>The status of <paramref name="service"/>; false when it is unknown.</summary>
    public bool TryGetStatus(string service, out ServingStatus status)
    {
        lock (_gate)
        {
            return _statuses.TryGetValue(service, out status);
        }
    }

    /// <summary>Marks every service NOT_SERVING, tells watchers, then ends their streams.</summary>
    public void Shutdown()
    {
        lock (_gate)
        {
            if (_shutDown)
            {
                return;
            }

            foreach (var service in _statuses.Keys.ToList())
            {
                _statuses[service] = ServingStatus.NotServing;
                Publish(service, ServingStatus.NotServing);
            }

            _shutDown = true;
            foreach (var list in _watchers.Values)
            {
                foreach (var channel in list)
                {
                    channel.Writer.TryComplete();
                }
            }
        }
    }

    /// <summary>Starts watching <paramref name="service"/>: the reader yields the current status first,
    /// then each change (only the latest when the watcher falls behind); it completes on shutdown.</summary>
    internal HealthWatch Watch(string service)
    {
        var channel = Channel.CreateBounded<ServingStatus>(new BoundedChannelOptions(1)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
            SingleWriter = false,
        });
        lock (_gate)
        {
            channel.Writer.TryWrite(_statuses.TryGetValue(service, out var status) ? status : ServingStatus.ServiceUnknown);
            if (_shutDown)
            {
                channel.Writer.TryComplete();
            }
            else
            {
                if (!_watchers.TryGetValue(service, out var list))
                {
                    _watchers[service] = list = [];
                }

                list.Add(channel);
            }
        }

        return new HealthWatch(channel.Reader, () => Unwatch(service, channel));
    }

    private void Unwatch(string service, Channel<ServingStatus> channel)
    {
        lock (_gate)
        {
            if (_watchers.TryGetValue(service, out var list) && list.Remove(channel) && list.Count == 0)
            {
                _watchers.Remove(service);
            }
        }
    }

    private void Publish(string service, ServingStatus status)
    {
        if (_watchers.TryGetValue(service, out var list))
        {
            foreach (var channel in list)
            {
                channel.Writer.TryWrite(status);
            }
        }
    }
}

/// <summary>One Watch subscription; disposing it unsubscribes.</summary>
internal sealed class HealthWatch(ChannelReader<ServingStatus> updates, Action unsubscribe) : IDisposable
{
    public ChannelReader<ServingStatus> Updates { get; } = updates;

    public void Dispose() => unsubscribe();
}
