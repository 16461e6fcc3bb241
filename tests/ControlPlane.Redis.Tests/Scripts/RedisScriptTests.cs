namespace ControlPlane.Redis.Tests.Scripts;

public sealed class RedisScriptTests
{
    [Fact]
    public void Computes_the_sha1_redis_uses()
    {
        // The SHA1 of "return 1", as SCRIPT LOAD reports it (contract tests check SCRIPT LOAD too).
        Assert.Equal("e0e1f9fabfc9d4800c877a703b823ac0578ff8db", new RedisScript("return 1").Sha1);
    }

    [Fact]
    public void Rejects_empty_source()
    {
        Assert.Throws<ArgumentException>(() => new RedisScript(" "));
    }
}
