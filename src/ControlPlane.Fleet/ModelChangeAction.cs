namespace ControlPlane.Fleet;

/// <summary>What an endpoint does when outcomes report a model version other than its pinned one
/// (<c>on_model_change</c> in the fleet file).</summary>
public enum ModelChangeAction
{
    /// <summary>Raise a <c>model-change</c> alert to the owner; keep routing (the default).</summary>
    Alert = 0,

    /// <summary>Raise the alert and drain the endpoint until an operator acknowledges the change.</summary>
    Drain = 1,
}
