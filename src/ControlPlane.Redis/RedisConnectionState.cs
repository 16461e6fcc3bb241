namespace ControlPlane.Redis;

/// <summary>The state of a logical connection, which survives reconnects of its socket.</summary>
public enum RedisConnectionState
{
    /// <summary>Not connected yet, or lost and trying again with backoff.</summary>
    Disconnected,

    /// <summary>Connected and authenticated; commands flow.</summary>
    Connected,

    /// <summary>Disposed; every command fails.</summary>
    Disposed,
}

/// <summary>Raised when a connection goes up or down.</summary>
public sealed class RedisConnectionStateChangedEventArgs : EventArgs
{
    /// <summary>Creates the event arguments.</summary>
    public RedisConnectionStateChangedEventArgs(RedisConnectionState state, Exception? error)
    {
        State = state;
        Error = error;
    }

    /// <summary>The new state.</summary>
    public RedisConnectionState State { get; }

    /// <summary>Why the connection went down, when it did.</summary>
    public Exception? Error { get; }
}
