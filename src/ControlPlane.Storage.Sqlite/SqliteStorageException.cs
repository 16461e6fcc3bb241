using Orleans.Runtime;

namespace ControlPlane.Storage.Sqlite;

/// <summary>A SQLite grain-storage operation failed for a reason other than an etag conflict (those throw
/// <see cref="Orleans.Storage.InconsistentStateException"/>). The message names the provider, state and grain.</summary>
public class SqliteStorageException : OrleansException
{
    /// <summary>Creates the exception.</summary>
    public SqliteStorageException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public SqliteStorageException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public SqliteStorageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A stored row could not be turned back into the grain's state type (unparseable or foreign data). Only
/// that grain's activation fails; the row is left as it is for an operator to inspect.</summary>
public sealed class CorruptGrainStateException : SqliteStorageException
{
    /// <summary>Creates the exception.</summary>
    public CorruptGrainStateException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public CorruptGrainStateException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public CorruptGrainStateException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for one stored row.</summary>
    public CorruptGrainStateException(string stateName, GrainId grainId, Type stateType, string path, Exception innerException)
        : base($"Stored state '{stateName}' of grain {grainId} in {path} cannot be read as {stateType.FullName}: {innerException.Message}", innerException)
    {
        StateName = stateName;
        GrainId = grainId.ToString();
        StateTypeName = stateType.FullName;
    }

    /// <summary>The state name (Orleans passes it as the "grain type" of the storage call).</summary>
    public string? StateName { get; }

    /// <summary>The grain whose row is unreadable, as <see cref="Orleans.Runtime.GrainId.ToString"/> prints it.</summary>
    public string? GrainId { get; }

    /// <summary>The type the row was read as.</summary>
    public string? StateTypeName { get; }
}
