using ControlPlane.Service.Admin;
using ControlPlane.Service.Grains;
using ControlPlane.Service.Security;

namespace ControlPlane.Service.Catalog;

/// <summary>The catalog behind <c>GET /admin/v1/catalog</c>, <c>/catalog/{id}</c>, gRPC <c>GetCatalog</c> and the
/// model-change acknowledgement: the fleet file's catalog joined with the live class policies (class grains) and the
/// endpoints' model-change status (endpoint grains).</summary>
internal sealed class CatalogOperations(FleetCatalog catalog, IGrainFactory grains, TimeProvider time)
{
    /// <summary>Every endpoint, in fleet order.</summary>
    public async Task<IReadOnlyList<CatalogEntryView>> GetCatalogAsync()
    {
        var usesTask = ClassUsesAsync();
        var details = await Task.WhenAll(catalog.Fleet.Endpoints.Select(e => grains.GetGrain<IProviderEndpointGrain>(e.Id).GetDetailsAsync()));
        var uses = await usesTask;
        var today = DeprecationStage.Today(time);
        return [.. catalog.Fleet.Endpoints.Select((e, i) => CatalogEntryView.From(e, details[i].ModelChange, uses, today))];
    }

    /// <summary>One endpoint; 404 naming <c>id</c> when unknown.</summary>
    public async Task<CatalogEntryView> GetEntryAsync(string id)
    {
        var entry = RequireEndpoint(id);
        var usesTask = ClassUsesAsync();
        var details = await grains.GetGrain<IProviderEndpointGrain>(id).GetDetailsAsync();
        return CatalogEntryView.From(entry, details.ModelChange, await usesTask, DeprecationStage.Today(time));
    }

    /// <summary>Acknowledges the endpoint's silent model change (operator): clears the alert and the drain the endpoint
    /// set for it; persisted, audited as <c>endpoint.model_change_ack</c>, pushed to every node.</summary>
    public async Task<CatalogEntryView> AcknowledgeModelChangeAsync(string id, string? reason, AdminActor actor)
    {
        ArgumentNullException.ThrowIfNull(actor);
        var entry = RequireEndpoint(id);
        var why = AdminOperations.RequireReason(reason);
        var details = await grains.GetGrain<IProviderEndpointGrain>(id).AcknowledgeModelChangeAsync(new ModelChangeAck(actor, why));
        return CatalogEntryView.From(entry, details.ModelChange, await ClassUsesAsync(), DeprecationStage.Today(time));
    }

    private async Task<ClassUses> ClassUsesAsync()
    {
        var classes = await Task.WhenAll(catalog.Fleet.Classes.Select(c => grains.GetGrain<IWorkloadClassGrain>(c.Name).GetDetailsAsync()));
        return new ClassUses(classes.Select(c => c.Policy));
    }

    private Fleet.EndpointCatalogEntry RequireEndpoint(string id) =>
        catalog.Endpoints.TryGetValue(id, out var entry) ? entry : throw new AdminException(AdminErrorKind.NotFound, "id", $"unknown endpoint '{id}'");
}
