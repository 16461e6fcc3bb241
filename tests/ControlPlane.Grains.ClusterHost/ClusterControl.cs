using System.Text;
using ControlPlane.Grpc;

namespace ControlPlane.Grains.ClusterHost;

/// <summary>The driver's handle on a node: unary methods with UTF-8 text in and out, so the driver needs no proto.</summary>
public static class ClusterControl
{
    /// <summary>The service name.</summary>
    public const string ServiceName = "controlplane.test.v1.ClusterControl";

    /// <summary>Plain UTF-8 text messages.</summary>
    public static readonly Marshaller<string> Text = new(
        s => Encoding.UTF8.GetByteCount(s),
        (s, destination) => Encoding.UTF8.GetBytes(s, destination),
        payload => Encoding.UTF8.GetString(payload));

    /// <summary>Increments counter grain (key) by one through this node; answers the new value.</summary>
    public static readonly Method<string, string> Increment = Create("Increment");

    /// <summary>Reads counter grain (key) through this node; answers its value.</summary>
    public static readonly Method<string, string> Get = Create("Get");

    /// <summary>Answers the silo id this node has in the current membership view.</summary>
    public static readonly Method<string, string> Silo = Create("Silo");

    /// <summary>Answers "key=count" lines: how many times each counter grain was activated on this node.</summary>
    public static readonly Method<string, string> Activations = Create("Activations");

    /// <summary>Answers "key" lines: the counter grains live on this node now.</summary>
    public static readonly Method<string, string> Live = Create("Live");

    /// <summary>Answers "key=error type" lines: writes of this node that storage refused as fenced.</summary>
    public static readonly Method<string, string> Fenced = Create("Fenced");

    private static Method<string, string> Create(string name) => new(MethodType.Unary, ServiceName, name, Text, Text);
}
