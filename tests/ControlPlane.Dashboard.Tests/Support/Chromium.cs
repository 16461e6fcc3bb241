using Microsoft.Playwright;

namespace ControlPlane.Dashboard.Tests.Support;

/// <summary>Debian's chromium (<c>/usr/bin/chromium</c>, installed by scripts/install-test-deps.sh) launched headless by
/// Microsoft.Playwright's bundled driver; one browser per test class, a fresh context (own session storage) per test.
/// Playwright never downloads a browser here: the executable is given.</summary>
public sealed class Chromium : IAsyncLifetime
{
    /// <summary>Debian's chromium.</summary>
    public const string ExecutablePath = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            // Root (CI containers) cannot use chromium's sandbox; /dev/shm is small in containers.
            Args = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }

    /// <summary>Where screenshots go: <c>artifacts/screenshots/</c> under the repository root (gitignored).</summary>
    public static string ScreenshotPath(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "ControlPlane.sln")))
            {
                var folder = Path.Combine(dir.FullName, "artifacts", "screenshots");
                Directory.CreateDirectory(folder);
                return Path.Combine(folder, name + ".png");
            }
        }

        throw new InvalidOperationException($"No ControlPlane.sln above {AppContext.BaseDirectory}.");
    }
}
