namespace ControlPlane.Redis;

/// <summary>The five RESP2 reply types.</summary>
public enum RespType : byte
{
    /// <summary><c>+OK\r\n</c></summary>
    SimpleString,

    /// <summary><c>-ERR message\r\n</c> (only ever seen nested inside arrays; top-level errors are thrown).</summary>
    Error,

    /// <summary><c>:42\r\n</c></summary>
    Integer,

    /// <summary><c>$3\r\nfoo\r\n</c>, or the null bulk string <c>$-1\r\n</c>.</summary>
    BulkString,

    /// <summary><c>*2\r\n...</c>, or the null array <c>*-1\r\n</c>.</summary>
    Array,
}
