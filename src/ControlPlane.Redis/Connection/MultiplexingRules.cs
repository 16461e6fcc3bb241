namespace ControlPlane.Redis.Connection;

/// <summary>Commands that would break a connection shared by many callers: they change the state of the
/// whole connection (mode, database, protocol) or break one-reply-per-command FIFO matching.</summary>
internal static class MultiplexingRules
{
    private static readonly Dictionary<string, string> Refused = new(StringComparer.OrdinalIgnoreCase)
    {
        ["SUBSCRIBE"] = "use IRedisSubscriber",
        ["PSUBSCRIBE"] = "use IRedisSubscriber",
        ["SSUBSCRIBE"] = "use IRedisSubscriber",
        ["UNSUBSCRIBE"] = "use IRedisSubscriber",
        ["PUNSUBSCRIBE"] = "use IRedisSubscriber",
        ["SUNSUBSCRIBE"] = "use IRedisSubscriber",
        ["MONITOR"] = "it turns the connection into a stream",
        ["MULTI"] = "other callers' commands would join the transaction; use a Lua script (EvaluateAsync)",
        ["EXEC"] = "transactions cannot be shared; use a Lua script (EvaluateAsync)",
        ["DISCARD"] = "transactions cannot be shared; use a Lua script (EvaluateAsync)",
        ["WATCH"] = "transactions cannot be shared; use a Lua script (EvaluateAsync)",
        ["UNWATCH"] = "transactions cannot be shared; use a Lua script (EvaluateAsync)",
        ["SELECT"] = "it would switch every caller's database and be lost on reconnect; set RedisOptions.Database",
        ["AUTH"] = "it would be lost on reconnect; set RedisOptions.User/Password",
        ["HELLO"] = "the client speaks RESP2 only",
        ["RESET"] = "it resets state every caller relies on",
        ["QUIT"] = "dispose the connection instead",
    };

    /// <summary>Throws <see cref="ArgumentException"/> for a command that must not run on the shared connection.</summary>
    public static void EnsureAllowed(string command, IReadOnlyList<RedisArgument> arguments)
    {
        if (Refused.TryGetValue(command, out var reason))
        {
            throw new ArgumentException($"{command.ToUpperInvariant()} cannot run on the multiplexed connection: {reason}.", nameof(command));
        }

        // CLIENT REPLY OFF|SKIP suppresses replies, which would shift every later reply onto the wrong caller.
        if (string.Equals(command, "CLIENT", StringComparison.OrdinalIgnoreCase) && arguments.Count > 0 &&
            string.Equals(arguments[0].ToString(), "REPLY", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException("CLIENT REPLY cannot run on the multiplexed connection: suppressed replies break reply matching.", nameof(command));
        }
    }
}
