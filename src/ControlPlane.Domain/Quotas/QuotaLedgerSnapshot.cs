namespace ControlPlane.Domain.Quotas;

/// <summary>A live lease as the ledger keeps it: the grant and what it holds in each of the endpoint's buckets.
/// The holds equal the grant in every limited dimension, except for a lease restored into a dimension that was
/// unlimited when it was granted (see <see cref="QuotaLeaseLedger.Restore"/>); unlimited dimensions hold nothing.</summary>
/// <param name="Lease">The lease as granted to the node.</param>
/// <param name="HeldTokens">Tokens carved out of the tokens bucket for it.</param>
/// <param name="HeldRequests">Requests carved out of the requests bucket for it.</param>
public sealed record HeldLease(QuotaLease Lease, long HeldTokens, long HeldRequests);

/// <summary>The persisted state of a <see cref="QuotaLeaseLedger"/> (see <see cref="QuotaLeaseLedger.Export"/>): what a new
/// activation needs to carry on exactly where the last one stopped. Small, immutable, round-trippable through System.Text.Json.</summary>
/// <param name="Tokens">The tokens bucket, or null when tokens were unlimited.</param>
/// <param name="Requests">The requests bucket, or null when requests were unlimited.</param>
/// <param name="Leases">The live leases, by id.</param>
/// <param name="NextLeaseId">The id the next grant gets, so ids are never reused across activations.</param>
public sealed record QuotaLedgerSnapshot(TokenBucketSnapshot? Tokens, TokenBucketSnapshot? Requests, IReadOnlyList<HeldLease> Leases, long NextLeaseId);
