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
/// <param name="SpendLeaseId">Spend-ceiling lease the estimated cost was paid from (0 when the class has no ceiling).</param>
/// <param name="SpendNanos">The estimated cost paid (nano-dollars).</param>
public readonly record struct QuotaTicket(int ClassIndex, int EndpointIndex, long EndpointLeaseId, long ClassLeaseId, TokenReservation Reservation,
    long SpendLeaseId = 0, long SpendNanos = 0);

/// <summary>
/// A node's quota state, indexed like its routing snapshot: one <see cref="LeaseWallet"/> per limited
/// endpoint (a slice of the provider's TPM/RPM), one per budgeted workload class, and one per class with a spend
/// ceiling (a slice of the class's money, in nano-dollars: a request pays its estimated cost at the endpoint's
/// price, see <see cref="SpendPrice"/>). A slot with no wallet is unlimited. Admission spends from all of them or none.
/// </summary>
public sealed class NodeQuotaTable : IQuotaGate
{
    private readonly LeaseWallet?[] _endpoints;
    private readonly LeaseWallet?[] _classes;
    private readonly LeaseWallet?[] _spend;
    private readonly SpendPrice[] _prices;
    private PriorityShares?[] _shares;
    private WorkloadPriority[] _priorities;

    /// <summary>Creates a table with no wallets (everything unlimited) and free endpoints.</summary>
    public NodeQuotaTable(int endpointCount, int classCount)
    {
        _endpoints = new LeaseWallet?[endpointCount];
        _classes = new LeaseWallet?[classCount];
        _spend = new LeaseWallet?[classCount];
        _prices = new SpendPrice[endpointCount];
        _shares = new PriorityShares?[endpointCount];
        _priorities = new WorkloadPriority[classCount];
    }

    /// <summary>Sets endpoint <paramref name="endpointIndex"/>'s price (what its requests cost a spend ceiling).</summary>
    public void SetEndpointPrice(int endpointIndex, SpendPrice price) => _prices[endpointIndex] = price;

    /// <summary>Sets (or clears) the wallet holding class <paramref name="classIndex"/>'s spend-ceiling lease (its
    /// <see cref="QuotaLease.Tokens"/> are nano-dollars). Set an empty wallet to refuse until a lease is granted.</summary>
    public void SetSpendWallet(int classIndex, LeaseWallet? wallet) => _spend[classIndex] = wallet;

    /// <summary>What <paramref name="reservation"/> costs on endpoint <paramref name="endpointIndex"/>, in nano-dollars.</summary>
    public long EstimatedCost(int endpointIndex, in TokenReservation reservation) => _prices[endpointIndex].Cost(reservation);

    /// <summary>True when class <paramref name="classIndex"/> has a spend ceiling and its wallet cannot pay
    /// <paramref name="reservation"/> on the cheapest of its <paramref name="primaries"/> and <paramref name="fallbacks"/>:
    /// the class is out of money for this request (a decision without an endpoint says <c>spend_ceiling</c>).
    /// <paramref name="cheapest"/> is the request's cost on that endpoint (0 when the class has no ceiling).</summary>
    public bool SpendCeilingReached(int classIndex, IReadOnlyList<int> primaries, IReadOnlyList<int> fallbacks, in TokenReservation reservation,
        DateTimeOffset now, out long cheapest)
    {
        ArgumentNullException.ThrowIfNull(primaries);
        ArgumentNullException.ThrowIfNull(fallbacks);
        cheapest = 0;
        if (_spend[classIndex] is not { } wallet)
        {
            return false;
        }

        cheapest = long.MaxValue;
        for (int i = 0; i < primaries.Count + fallbacks.Count; i++)
        {
            int e = i < primaries.Count ? primaries[i] : fallbacks[i - primaries.Count];
            cheapest = Math.Min(cheapest, _prices[e].Cost(reservation));
        }

        return cheapest != long.MaxValue && !wallet.CanSpend(new TokenReservation(cheapest, 0, 0), now);
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
        && (_classes[classIndex]?.CanSpend(reservation, now) ?? true)
        && (_spend[classIndex]?.CanSpend(new TokenReservation(_prices[endpointIndex].Cost(reservation), 0, 0), now) ?? true);

    /// <summary>Spends the reservation from the endpoint's and the class's wallets and its estimated cost from the
    /// class's spend wallet (all or none).</summary>
    public bool TryAdmit(int classIndex, int endpointIndex, in TokenReservation reservation, out QuotaTicket ticket)
    {
        var endpoint = _endpoints[endpointIndex];
        var budget = _classes[classIndex];
        var spend = _spend[classIndex];
        long endpointLease = 0;
        long classLease = 0;
        long spendLease = 0;
        long cost = 0;
        if (spend is not null)
        {
            // The estimate is the reservation: estimated input plus maximum output at this endpoint's price.
            cost = _prices[endpointIndex].Cost(reservation);
            if (!spend.TrySpend(new TokenReservation(cost, 0, 0), out spendLease))
            {
                ticket = default;
                return false;
            }
        }

        if (endpoint is not null && !endpoint.TrySpend(reservation, out endpointLease, _priorities[classIndex], _shares[endpointIndex]))
        {
            spend?.Reconcile(spendLease, new TokenReservation(cost, 0, 0), 0);
            ticket = default;
            return false;
        }

        if (budget is not null && !budget.TrySpend(reservation, out classLease))
        {
            // Undo the endpoint spend exactly: a reconcile to zero actual tokens refunds all of it.
            endpoint?.Reconcile(endpointLease, reservation, 0);
            endpoint?.Unspend(endpointLease, reservation.Requests);
            spend?.Reconcile(spendLease, new TokenReservation(cost, 0, 0), 0);
            ticket = default;
            return false;
        }

        ticket = new QuotaTicket(classIndex, endpointIndex, endpointLease, classLease, reservation, spendLease, cost);
        return true;
    }

    /// <summary>Settles an admitted request to the tokens it actually used. Without the input/output split the spend
    /// ceiling is charged as if every token were priced at the endpoint's dearer rate (never under-counted).</summary>
    public void Reconcile(in QuotaTicket ticket, long actualTokens)
    {
        var price = _prices[ticket.EndpointIndex];
        ReconcileTokens(ticket, actualTokens);
        ReconcileSpend(ticket, new SpendPrice(0, Math.Max(price.InputNanosPer1k, price.OutputNanosPer1k)).Cost(0, actualTokens));
    }

    /// <summary>Settles an admitted request to the input and output tokens it actually used: the token wallets to their
    /// sum, the spend wallet to their cost at the endpoint's price.</summary>
    public void Reconcile(in QuotaTicket ticket, long actualInputTokens, long actualOutputTokens)
    {
        ReconcileTokens(ticket, checked(actualInputTokens + actualOutputTokens));
        ReconcileSpend(ticket, _prices[ticket.EndpointIndex].Cost(actualInputTokens, actualOutputTokens));
    }

    private void ReconcileTokens(in QuotaTicket ticket, long actualTokens)
    {
        _endpoints[ticket.EndpointIndex]?.Reconcile(ticket.EndpointLeaseId, ticket.Reservation, actualTokens);
        _classes[ticket.ClassIndex]?.Reconcile(ticket.ClassLeaseId, ticket.Reservation, actualTokens);
    }

    private void ReconcileSpend(in QuotaTicket ticket, long actualCost)
    {
        if (ticket.SpendLeaseId != 0 || ticket.SpendNanos != 0)
        {
            _spend[ticket.ClassIndex]?.Reconcile(ticket.SpendLeaseId, new TokenReservation(ticket.SpendNanos, 0, 0), actualCost);
        }
    }
}
