namespace ControlPlane.Service.Grains;

/// <summary>How the agent workflow a request belonged to ended, when the data plane reports it
/// (<c>Outcome.workflow_verdict</c>); carried to the class grain on <see cref="OutcomeRecord.WorkflowVerdict"/>.</summary>
public enum WorkflowVerdict : byte
{
    /// <summary>Not reported (most outcomes: single calls, or a workflow step that did not end it).</summary>
    None = 0,

    /// <summary>The workflow completed.</summary>
    Completed = 1,

    /// <summary>The workflow failed.</summary>
    Failed = 2,
}
