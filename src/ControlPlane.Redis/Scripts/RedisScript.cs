using System.Security.Cryptography;
using System.Text;

namespace ControlPlane.Redis;

/// <summary>A Lua script and its SHA1, for <c>EVALSHA</c>. Create one per script and keep it
/// (a static field): the hash is computed once.</summary>
public sealed class RedisScript
{
    /// <summary>Creates the script and computes its SHA1 as Redis does (hex, lower case, over the UTF-8 source).</summary>
    public RedisScript(string source)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(source);
        Source = source;
        Sha1 = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(source)));
    }

    /// <summary>The Lua source.</summary>
    public string Source { get; }

    /// <summary>The SHA1 Redis uses to name the script in its cache.</summary>
    public string Sha1 { get; }

    /// <summary>The SHA1.</summary>
    public override string ToString() => Sha1;
}
