using System.Diagnostics;
using System.Text.Json;
using ControlPlane.Dashboard.Tests.Support;
using ControlPlane.Service.Security;
using Microsoft.Playwright;

namespace ControlPlane.Dashboard.Tests.Browser;

/// <summary>The dashboard page in a real browser (Debian's chromium, headless, through Microsoft.Playwright) against an
/// in-process node: it loads clean, follows the stream, and its actions call the admin API with the page's key.</summary>
[Collection(BrowserCollection.Name)]
public sealed class DashboardPageTests(Chromium chromium)
{
    private const float Patience = 30_000;

    [Fact]
    public async Task The_page_loads_without_console_errors_and_draws_the_fleet_classes_audit_and_charts()
    {
        await using var node = await DashboardNode.StartAsync(o => o.SampleInterval = TimeSpan.FromSeconds(1));
        var ids = await node.EndpointIdsAsync();
        await using var session = await PageSession.OpenAsync(chromium, node);

        await session.ConnectAsync(await node.KeyForAsync("vera", Roles.Viewer));
        foreach (var id in ids)
        {
            await Assertions.Expect(session.Page.GetByTestId("breaker-state-" + id)).ToHaveTextAsync("closed", new() { Timeout = Patience });
        }

        await Assertions.Expect(session.Page.Locator("[data-testid^=class-card-]").First).ToBeVisibleAsync();
        // The charts are pictures: one path per endpoint once the history has two samples (polled every 10 s).
        await Assertions.Expect(session.Page.Locator("[data-testid=chart-traffic] path")).ToHaveCountAsync(ids.Count, new() { Timeout = Patience });
        await Assertions.Expect(session.Page.Locator("[data-testid=chart-p95] path, [data-testid=chart-p95] text")).Not.ToHaveCountAsync(0);
        await Assertions.Expect(session.Page.GetByTestId("chart-legend").Locator("li")).ToHaveCountAsync(ids.Count);
        await session.Page.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath("dashboard-loaded"), FullPage = true });

        Assert.Empty(session.Errors);
    }

    [Fact]
    public async Task A_breaker_forced_through_the_API_shows_on_the_page_within_two_seconds()
    {
        await using var node = await DashboardNode.StartAsync();
        var id = (await node.EndpointIdsAsync())[0];
        await using var session = await PageSession.OpenAsync(chromium, node);
        await session.ConnectAsync(await node.KeyForAsync("vera", Roles.Viewer));
        await Assertions.Expect(session.Page.GetByTestId("connection")).ToHaveTextAsync("Live", new() { Timeout = Patience });
        await Assertions.Expect(session.Page.GetByTestId("breaker-state-" + id)).ToHaveTextAsync("closed", new() { Timeout = Patience });

        await node.PostAsync($"admin/v1/endpoints/{id}/breaker", """{"state":"open","reason":"api says open"}""");
        var forced = Stopwatch.StartNew();
        await Assertions.Expect(session.Page.GetByTestId("breaker-state-" + id)).ToHaveTextAsync("forced_open", new() { Timeout = 2_000 });
        forced.Stop();
        await session.Page.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath("dashboard-forced-by-api"), FullPage = true });

        Assert.True(forced.Elapsed < TimeSpan.FromSeconds(2), $"shown after {forced.Elapsed}");
        await Assertions.Expect(session.Page.GetByTestId("breaker-reason-" + id)).ToContainTextAsync("api says open");
        Assert.Empty(session.Errors);
    }

    [Fact]
    public async Task Forcing_a_breaker_from_the_page_applies_it_and_lands_in_the_audit_under_the_pages_key()
    {
        await using var node = await DashboardNode.StartAsync();
        var id = (await node.EndpointIdsAsync())[^1];
        await using var session = await PageSession.OpenAsync(chromium, node);
        await session.ConnectAsync(await node.KeyForAsync("olga", Roles.Viewer, Roles.Operator));

        await session.ActAsync(id, "open", "forced from the dashboard");

        await Assertions.Expect(session.Page.GetByTestId("action-result")).ToHaveTextAsync($"Done: {id} is now forced_open.", new() { Timeout = Patience });
        await Assertions.Expect(session.Page.GetByTestId("breaker-state-" + id)).ToHaveTextAsync("forced_open", new() { Timeout = Patience });
        await Assertions.Expect(session.Page.GetByTestId("audit-feed")).ToContainTextAsync("breaker.force_open", new() { Timeout = Patience });
        await session.Page.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath("dashboard-forced-from-page"), FullPage = true });
        var entry = Assert.Single(await node.ChangesAsync(), e => e.GetProperty("action").GetString() == "breaker.force_open");
        Assert.Equal(id, entry.GetProperty("target").GetString());
        Assert.Equal("forced from the dashboard", entry.GetProperty("reason").GetString());
        Assert.Equal("olga", Principal(entry));
        var endpoint = await node.GetJsonAsync($"admin/v1/endpoints/{id}");
        Assert.Equal("open", endpoint.GetProperty("breaker").GetProperty("state").GetString());
        Assert.Equal("force_open", endpoint.GetProperty("override").GetProperty("kind").GetString());

        // And back to automatic from the page.
        await session.ActAsync(id, "auto", "incident over");
        await Assertions.Expect(session.Page.GetByTestId("breaker-state-" + id)).ToHaveTextAsync("closed", new() { Timeout = Patience });
        Assert.Contains(await node.ChangesAsync(), e => e.GetProperty("action").GetString() == "breaker.auto" && Principal(e) == "olga");
        Assert.Empty(session.Errors);
    }

    [Fact]
    public async Task Draining_and_undraining_from_the_page()
    {
        await using var node = await DashboardNode.StartAsync();
        var id = (await node.EndpointIdsAsync())[0];
        await using var session = await PageSession.OpenAsync(chromium, node);
        await session.ConnectAsync(await node.KeyForAsync("olga", Roles.Viewer, Roles.Operator));

        await session.ActAsync(id, "drain", "rolling maintenance");
        await Assertions.Expect(session.Page.GetByTestId("breaker-state-" + id)).ToHaveTextAsync("draining", new() { Timeout = Patience });
        await session.Page.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath("dashboard-drained"), FullPage = true });
        await session.ActAsync(id, "undrain", "maintenance done");
        await Assertions.Expect(session.Page.GetByTestId("breaker-state-" + id)).ToHaveTextAsync("closed", new() { Timeout = Patience });

        var changes = await node.ChangesAsync();
        Assert.Contains(changes, e => e.GetProperty("action").GetString() == "endpoint.drain" && e.GetProperty("reason").GetString() == "rolling maintenance");
        Assert.Contains(changes, e => e.GetProperty("action").GetString() == "endpoint.undrain" && e.GetProperty("reason").GetString() == "maintenance done");
        Assert.Empty(session.Errors);
    }

    [Fact]
    public async Task A_viewer_only_key_gets_a_clear_403_on_an_action_and_nothing_changes()
    {
        await using var node = await DashboardNode.StartAsync();
        var id = (await node.EndpointIdsAsync())[0];
        await using var session = await PageSession.OpenAsync(chromium, node);
        await session.ConnectAsync(await node.KeyForAsync("vera", Roles.Viewer));

        await session.ActAsync(id, "open", "should not apply");

        var error = session.Page.GetByTestId("action-error");
        await Assertions.Expect(error).ToBeVisibleAsync(new() { Timeout = Patience });
        await Assertions.Expect(error).ToContainTextAsync("403 Forbidden");
        await Assertions.Expect(error).ToHaveAttributeAsync("role", "alert");
        await session.Page.ScreenshotAsync(new() { Path = Chromium.ScreenshotPath("dashboard-viewer-forbidden"), FullPage = true });
        Assert.DoesNotContain(await node.ChangesAsync(), e => e.GetProperty("action").GetString() == "breaker.force_open");
        Assert.Equal("closed", (await node.GetJsonAsync($"admin/v1/endpoints/{id}")).GetProperty("breaker").GetProperty("state").GetString());
    }

    [Fact]
    public async Task A_wrong_key_is_told_apart_and_not_kept()
    {
        await using var node = await DashboardNode.StartAsync();
        await using var session = await PageSession.OpenAsync(chromium, node);

        await session.ConnectAsync("cpk_notakey000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");

        await Assertions.Expect(session.Page.GetByTestId("message")).ToContainTextAsync("401 Unauthorized", new() { Timeout = Patience });
        Assert.Null(await session.Page.EvaluateAsync<string?>("sessionStorage.getItem('controlplane.dashboard.key')"));
        Assert.True(await session.Page.GetByTestId("fleet-grid").IsHiddenAsync());
    }

    [Fact]
    public async Task Text_from_the_server_is_shown_as_text_never_as_markup()
    {
        await using var node = await DashboardNode.StartAsync();
        var id = (await node.EndpointIdsAsync())[0];
        const string reason = "<img src=x data-testid=injected> <b>bold</b>";
        await node.PostAsync($"admin/v1/endpoints/{id}/breaker", JsonSerializer.Serialize(new { state = "open", reason }));
        await using var session = await PageSession.OpenAsync(chromium, node);

        await session.ConnectAsync(await node.KeyForAsync("vera", Roles.Viewer));

        await Assertions.Expect(session.Page.GetByTestId("audit-feed")).ToContainTextAsync(reason, new() { Timeout = Patience });
        await Assertions.Expect(session.Page.GetByTestId("breaker-reason-" + id)).ToContainTextAsync(reason);
        Assert.Equal(0, await session.Page.GetByTestId("injected").CountAsync());
        Assert.Equal(0, await session.Page.Locator("main b").CountAsync());
        Assert.Empty(session.Errors);
    }

    private static string Principal(JsonElement entry) => entry.GetProperty("actor").GetProperty("principal").GetString()!;

    /// <summary>One browser context (own session storage) and page on the node's dashboard, collecting console errors
    /// and uncaught page errors.</summary>
    private sealed class PageSession : IAsyncDisposable
    {
        private readonly IBrowserContext _context;

        private PageSession(IBrowserContext context, IPage page)
        {
            _context = context;
            Page = page;
            page.Console += (_, message) =>
            {
                if (message.Type == "error")
                {
                    Errors.Add(message.Text);
                }
            };
            page.PageError += (_, error) => Errors.Add(error);
        }

        public IPage Page { get; }

        public List<string> Errors { get; } = [];

        public static async Task<PageSession> OpenAsync(Chromium chromium, DashboardNode node)
        {
            var context = await chromium.Browser.NewContextAsync(new() { BaseURL = node.AdminAddress.ToString(), ViewportSize = new() { Width = 1400, Height = 1000 } });
            var session = new PageSession(context, await context.NewPageAsync());
            await session.Page.GotoAsync("/");
            return session;
        }

        public async Task ConnectAsync(string key)
        {
            await Page.GetByLabel("API key").FillAsync(key);
            await Page.GetByTestId("key-submit").ClickAsync();
        }

        public async Task ActAsync(string endpoint, string action, string reason)
        {
            await Assertions.Expect(Page.GetByTestId("act-" + endpoint)).ToBeVisibleAsync(new() { Timeout = Patience });
            await Page.GetByTestId("act-" + endpoint).ClickAsync();
            await Page.GetByLabel("Action").SelectOptionAsync(action);
            await Page.GetByLabel("Reason (audited)").FillAsync(reason);
            await Page.GetByTestId("action-submit").ClickAsync();
        }

        public async ValueTask DisposeAsync() => await _context.DisposeAsync();
    }
}

/// <summary>One chromium for every browser test class, run one class at a time.</summary>
[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<Chromium>
{
    public const string Name = "chromium";
}
