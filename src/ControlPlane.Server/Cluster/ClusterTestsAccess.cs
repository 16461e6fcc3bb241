using System.Runtime.CompilerServices;

// The watchdog's tests live in their own project (they run real redis-server processes).
[assembly: InternalsVisibleTo("ControlPlane.Server.Cluster.Tests")]
