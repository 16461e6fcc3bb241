namespace ControlPlane.Grains;

/// <summary>Base of the runtime's own errors (grain code's exceptions reach the caller unchanged).</summary>
public class GrainException : Exception
{
    /// <summary>Creates the exception.</summary>
    public GrainException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public GrainException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and a cause.</summary>
    public GrainException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a grain.</summary>
    protected GrainException(GrainId grainId, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        GrainId = grainId;
    }

    /// <summary>The grain concerned, when known.</summary>
    public GrainId? GrainId { get; }
}

/// <summary>A grain call did not complete within <see cref="GrainRuntimeOptions.CallTimeout"/>.</summary>
public sealed class GrainCallTimeoutException : GrainException
{
    /// <summary>Creates the exception.</summary>
    public GrainCallTimeoutException(GrainId grainId, string method, TimeSpan timeout)
        : base(grainId, $"Call to {method} on grain {grainId} did not complete within {timeout}. " +
            "A non-reentrant call cycle (A->B->A from different call chains) or a long turn ahead in the mailbox is the usual cause.")
    {
        Method = method;
        Timeout = timeout;
    }

    /// <summary>The interface method called.</summary>
    public string Method { get; }

    /// <summary>The timeout that expired.</summary>
    public TimeSpan Timeout { get; }
}

/// <summary>The silo is shutting down (or stopped) and refuses new calls from outside grains.</summary>
public sealed class GrainSiloStoppingException : GrainException
{
    /// <summary>Creates the exception.</summary>
    public GrainSiloStoppingException(GrainId grainId)
        : base(grainId, $"The grain silo is shutting down and refuses new calls (call to {grainId}).")
    {
    }
}

/// <summary>A call from another silo arrived after this silo joined the cluster but before its runtime started
/// taking calls (the short window of a start); nothing ran, so the caller may retry.</summary>
public sealed class GrainSiloStartingException : GrainException
{
    /// <summary>Creates the exception.</summary>
    public GrainSiloStartingException(GrainId grainId)
        : base(grainId, $"The grain silo is starting and does not take calls yet (call to {grainId}).")
    {
    }
}

/// <summary>An observer reference was deleted (or never existed on this node): the subscriber is gone.</summary>
public sealed class GrainObserverGoneException : GrainException
{
    /// <summary>Creates the exception.</summary>
    public GrainObserverGoneException(GrainId observerId)
        : base(observerId, $"Observer {observerId} no longer exists.")
    {
    }
}

/// <summary>A grain could not be activated (its constructor, state read or OnActivateAsync failed).</summary>
public sealed class GrainActivationException : GrainException
{
    /// <summary>Creates the exception.</summary>
    public GrainActivationException(GrainId grainId, Exception innerException)
        : base(grainId, $"Grain {grainId} could not be activated: {innerException.Message}", innerException)
    {
    }
}

/// <summary>No grain class is registered for an interface, or the grain type name is unknown.</summary>
public sealed class GrainTypeNotRegisteredException : GrainException
{
    /// <summary>Creates the exception.</summary>
    public GrainTypeNotRegisteredException(string what)
        : base($"No grain is registered for {what}. Register it with GrainSiloBuilder.AddGrain<TInterface, TGrain>().")
    {
    }
}

/// <summary>The silo stopped serving grain turns because its cluster membership lease is at risk or lost (self-fence);
/// retry on another silo or later.</summary>
public sealed class GrainSiloNotServingException : GrainException
{
    /// <summary>Creates the exception.</summary>
    public GrainSiloNotServingException(GrainId grainId, string siloId)
        : base(grainId, $"Silo {siloId} is not serving grain turns (its membership lease is at risk or lost); call to {grainId} refused.")
    {
        SiloId = siloId;
    }

    /// <summary>The silo that refused.</summary>
    public string SiloId { get; }
}
