namespace ControlPlane.Redis.Tests.Protocol;

public sealed class RespValueTests
{
    [Fact]
    public void Reads_integers_from_integer_replies_and_from_numeric_strings()
    {
        Assert.Equal(42, RespValue.Integer(42).AsInt64());
        Assert.Equal(-7, RespValue.BulkString("-7").AsInt64());
        Assert.Throws<InvalidOperationException>(() => RespValue.BulkString("x").AsInt64());
        Assert.Throws<InvalidOperationException>(() => RespValue.NullBulkString.AsInt64());
    }

    [Fact]
    public void Null_values_read_as_null()
    {
        Assert.True(RespValue.NullBulkString.IsNull);
        Assert.Null(RespValue.NullBulkString.AsString());
        Assert.Null(RespValue.NullBulkString.AsBytes());
        Assert.True(RespValue.NullArray.IsNull);
        Assert.Null(RespValue.NullArray.AsArray());
        Assert.False(RespValue.BulkString(string.Empty).IsNull);
        Assert.False(RespValue.Array([]).IsNull);
    }

    [Fact]
    public void Accessors_refuse_the_wrong_type()
    {
        Assert.Throws<InvalidOperationException>(() => RespValue.Integer(1).AsArray());
        Assert.Throws<InvalidOperationException>(() => RespValue.Array([]).AsString());
        Assert.Equal("5", RespValue.Integer(5).AsString());
    }

    [Fact]
    public void Equality_is_by_type_and_content()
    {
        Assert.Equal(RespValue.BulkString("a"), RespValue.BulkString("a"));
        Assert.NotEqual(RespValue.BulkString("a"), RespValue.SimpleString("a"));
        Assert.NotEqual(RespValue.NullBulkString, RespValue.BulkString(string.Empty));
        Assert.Equal(RespValue.Array([RespValue.Integer(1)]), RespValue.Array([RespValue.Integer(1)]));
        Assert.NotEqual(RespValue.Array([RespValue.Integer(1)]), RespValue.Array([RespValue.Integer(2)]));
    }

    [Fact]
    public void Server_errors_split_prefix_and_message()
    {
        var error = new RedisServerException("WRONGTYPE Operation against a key holding the wrong kind of value");

        Assert.Equal("WRONGTYPE", error.Prefix);
        Assert.Equal("Operation against a key holding the wrong kind of value", error.ErrorMessage);
        Assert.Equal("NOAUTH", new RedisServerException("NOAUTH").Prefix);
    }
}
