using ControlPlane.Domain.Routing;

namespace ControlPlane.Domain.Quotas;

/// <summary>What the decision function asks of the quota state: could this class's request be admitted on
/// this endpoint right now? Implementations must not allocate (it is on the routing hot path).</summary>
public interface IQuotaGate
{
    /// <summary>True when <paramref name="reservation"/> fits the endpoint's and the class's quota now.</summary>
    bool CanAdmit(int classIndex, int endpointIndex, in TokenReservation reservation, DateTimeOffset now);
}

/// <summary>A spent reservation, as <see cref="NodeQuotaTable.TryAdmit"/> hands it out, to reconcile later.</summary>
/// <param name="ClassIndex">Class index in the routing snapshot.</param>
/// <param name="EndpointIndex">Endpoint index in the routing snapshot.</param>
/// <param name="EndpointLeaseId">Endpoint lease spent from (0 when the endpoint is not limited here).</param>
/// <param name="ClassLeaseId">Class budget lease spent from (0 when the class has no budget).</param>
/// <param name="Reservation">What was reserved.</param>
public readonly record struct QuotaTicket(int ClassIndex, int EndpointIndex, long EndpointLeaseId, long ClassLeaseId, TokenReservation Reservation);

/// <summary>
/// A node's quota state, indexed like its routing snapshot: one <see cref="LeaseWallet"/> per limited
/// endpoint (a slice of the provider's TPM/RPM) and one per budgeted workload class. A slot with no wallet
/// is unlimited. Admission spends from both wallets or neither.
/// </summary>
public sealed class NodeQuotaTable : IQuotaGate
{
    private readonly LeaseWallet?[] _endpoints;
    private readonly LeaseWallet?[] _classes;
    private PriorityShares?[] _shares;
    private WorkloadPriority[] _priorities;

    /// <summary>Creates a table with no wallets (everything unlimited).</summary>
    public NodeQuotaTable(int endpointCount, int classCount)
    {
        _endpoints = new LeaseWallet?[endpointCount];
        _classes = new LeaseWallet?[classCount];
        _shares = new PriorityShares?[endpointCount];
        _priorities = new WorkloadPriority[classCount];
    }

    /// <summary>Takes each class's priority and each endpoint's <see cref="PriorityShares"/> from <paramref name="snapshot"/>
    /// (indexed like the table): under contention an endpoint's slice is shared by priority and weight.</summary>
    public void SetPriorities(RoutingSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var priorities = new WorkloadPriority[_classes.Length];
        for (int c = 0; c < priorities.Length && c < snapshot.ClassCount; c++)
        {
            priorities[c] = snapshot.ClassAt(c).Priority;
        }

        var shares = PriorityShares.ForSnapshot(snapshot);
        Array.Resize(ref shares, _endpoints.Length);
        Volatile.Write(ref _priorities, priorities);
        Volatile.Write(ref _shares, shares);
    }

    /// <summary>Sets (or clears) the wallet holding endpoint <paramref name="endpointIndex"/>'s lease.</summary>
    public void SetEndpointWallet(int endpointIndex, LeaseWallet? wallet) => _endpoints[endpointIndex] = wallet;

    /// <summary>Sets (or clears) the wallet holding class <paramref name="classIndex"/>'s budget lease.</summary>
    public void SetClassWallet(int classIndex, LeaseWallet? wallet) => _classes[classIndex] = wallet;

    /// <inheritdoc />
    public bool CanAdmit(int classIndex, int endpointIndex, in TokenReservation reservation, DateTimeOffset now) =>
        (_endpoints[endpointIndex]?.CanSpend(reservation, now, _priorities[classIndex], _shares[endpointIndex]) ?? true)
        && (_classes[classIndex]?.CanSpend(reservation, now) ?? true);

    /// <summary>Spends the reservation from the endpoint's and the class's wallets (both or neither).</summary>
    public bool TryAdmit(int classIndex, int endpointIndex, in TokenReservation reservation, out QuotaTicket ticket)
    {
        var endpoint = _endpoints[endpointIndex];
        var budget = _classes[classIndex];
        long endpointLease = 0;
        long classLease = 0;
        if (endpoint is not null && !endpoint.TrySpend(reservation, out endpointLease, _priorities[classIndex], _shares[endpointIndex]))
        {
            ticket = default;
            return false;
        }

        if (budget is not null && !budget.TrySpend(reservation, out classLease))
        {
            // Undo the endpoint spend exactly: a reconcile to zero actual tokens refunds all of it.
            endpoint?.Reconcile(endpointLease, reservation, 0);
            endpoint?.Unspend(endpointLease, reservation.Requests);
            ticket = default;
            return false;
        }

        ticket = new QuotaTicket(classIndex, endpointIndex, endpointLease, classLease, reservation);
        return true;
    }

    /// <summary>Settles an admitted request to the tokens it actually used.</summary>
    public void Reconcile(in QuotaTicket ticket, long actualTokens)
    {
        _endpoints[ticket.EndpointIndex]?.Reconcile(ticket.EndpointLeaseId, ticket.Reservation, actualTokens);
        _classes[ticket.ClassIndex]?.Reconcile(ticket.ClassLeaseId, ticket.Reservation, actualTokens);
    }
}
