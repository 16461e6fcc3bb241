using ControlPlane.Domain.Policy;
using ControlPlane.Fleet.Yaml;

namespace ControlPlane.Fleet;

/// <summary>Reads a class's optional <c>queue: { max_wait_ms, max_depth }</c> block (strictly: unknown keys, wrong
/// types, out-of-range values and a queue on a class that never queues are errors naming the field).</summary>
internal static class QueueLimitsReader
{
    public static ClassQueueLimits Read(MappingReader classReader, RoutingMode mode, ConfigErrorSink errors)
    {
        if (classReader.Optional("queue") is not { } node)
        {
            return ClassQueueLimits.Default;
        }

        string path = classReader.Child("queue");
        if (mode != RoutingMode.QueueOnly)
        {
            errors.Add(node, path, "only a queue_only class holds requests; remove 'queue' or set mode: queue_only");
            return ClassQueueLimits.Default;
        }

        if (MappingReader.Create(node, path, errors, "max_wait_ms", "max_depth") is not { } queue)
        {
            return ClassQueueLimits.Default;
        }

        var limits = ClassQueueLimits.Default;
        if (Bounded(queue, "max_wait_ms", ClassQueueLimits.MaxWaitLimitMs, errors) is { } wait)
        {
            limits = limits with { MaxWait = TimeSpan.FromMilliseconds(wait) };
        }

        if (Bounded(queue, "max_depth", ClassQueueLimits.MaxDepthLimit, errors) is { } depth)
        {
            limits = limits with { MaxDepth = (int)depth };
        }

        return limits;
    }

    private static long? Bounded(MappingReader reader, string key, long max, ConfigErrorSink errors)
    {
        if (reader.Optional(key) is not { } node || !ScalarValues.TryInteger(node, reader.Child(key), errors, out long value))
        {
            return null;
        }

        if (value < 0 || value > max)
        {
            errors.Add(node, reader.Child(key), $"must be between 0 and {max.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} (0 turns holding off)");
            return null;
        }

        return value;
    }
}
