namespace ControlPlane.Redis;

/// <summary>Base type of every error raised by the Redis client.</summary>
public abstract class RedisException : Exception
{
    /// <summary>Creates the exception.</summary>
    protected RedisException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}

/// <summary>The server answered a command with an error reply (<c>-PREFIX message</c>).
/// The connection stays usable.</summary>
public sealed class RedisServerException : RedisException
{
    /// <summary>Creates the exception from the text of an error reply.</summary>
    public RedisServerException(string errorReply)
        : base(errorReply)
    {
        ArgumentNullException.ThrowIfNull(errorReply);
        var space = errorReply.IndexOf(' ', StringComparison.Ordinal);
        Prefix = space < 0 ? errorReply : errorReply[..space];
        ErrorMessage = space < 0 ? string.Empty : errorReply[(space + 1)..];
    }

    /// <summary>The error code, the first word of the reply: <c>ERR</c>, <c>WRONGTYPE</c>, <c>NOSCRIPT</c>, <c>NOAUTH</c>...</summary>
    public string Prefix { get; }

    /// <summary>The text after the prefix.</summary>
    public string ErrorMessage { get; }
}

/// <summary>The connection failed or was lost. Check <see cref="CommandSent"/> before retrying:
/// a command that was sent may have executed, so the client never retries it on its own.</summary>
public class RedisConnectionException : RedisException
{
    /// <summary>Creates the exception.</summary>
    public RedisConnectionException(string message, bool commandSent = false, Exception? innerException = null)
        : base(message, innerException)
    {
        CommandSent = commandSent;
    }

    /// <summary>True when the command had been written to the server before the connection was lost,
    /// so it may or may not have executed; false when it certainly did not execute.</summary>
    public bool CommandSent { get; }
}

/// <summary>The server sent bytes that are not valid RESP2 (or a reply nobody was waiting for).
/// The connection is torn down, because everything after the violation could be misread.</summary>
public sealed class RedisProtocolException : RedisConnectionException
{
    /// <summary>Creates the exception.</summary>
    public RedisProtocolException(string message, bool commandSent = false, Exception? innerException = null)
        : base(message, commandSent, innerException)
    {
    }
}

/// <summary>A command got no reply within its timeout. The connection stays up; a reply that
/// arrives later is discarded.</summary>
public sealed class RedisTimeoutException : RedisException
{
    /// <summary>Creates the exception.</summary>
    public RedisTimeoutException(string message, bool commandSent)
        : base(message)
    {
        CommandSent = commandSent;
    }

    /// <summary>True when the command was written and may still execute; false when it was still
    /// queued (for example while reconnecting) and will never be sent.</summary>
    public bool CommandSent { get; }
}
