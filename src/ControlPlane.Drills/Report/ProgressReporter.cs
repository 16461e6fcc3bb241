using System.Globalization;

namespace ControlPlane.Drills.Report;

/// <summary>The progress line on stderr: a bar redrawn once a second on a terminal, a plain line every 10 s otherwise.</summary>
internal sealed class ProgressReporter(TextWriter writer, bool interactive, TimeProvider time)
{
    private const int BarWidth = 30;

    /// <summary>Draws until <paramref name="cancellationToken"/> fires; <paramref name="status"/> gives the elapsed
    /// fraction and a short status text.</summary>
    public async Task RunAsync(Func<(double Fraction, string Text)> status, CancellationToken cancellationToken)
    {
        var period = interactive ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(10);
        using var timer = new PeriodicTimer(period, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                var (fraction, text) = status();
                await writer.WriteAsync(Line(fraction, text, interactive)).ConfigureAwait(false);
                await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }

        if (interactive)
        {
            await writer.WriteLineAsync().ConfigureAwait(false);
        }
    }

    /// <summary>One progress line: <c>[#####.....]  45 % text</c>, led by a carriage return on a terminal.</summary>
    internal static string Line(double fraction, string text, bool interactive)
    {
        fraction = Math.Clamp(double.IsFinite(fraction) ? fraction : 0, 0, 1);
        var filled = (int)Math.Round(fraction * BarWidth);
        var line = string.Create(CultureInfo.InvariantCulture, $"[{new string('#', filled)}{new string('.', BarWidth - filled)}] {fraction * 100,3:0} % {text}");
        return interactive ? "\r" + line.PadRight(110) : line + Environment.NewLine;
    }
}
