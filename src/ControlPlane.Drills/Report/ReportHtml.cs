using System.Globalization;
using System.Net;
using System.Text;
using ControlPlane.Drills.Measurement;

namespace ControlPlane.Drills.Report;

/// <summary>The self-contained HTML report: tables and inline SVG, no script, no external asset.</summary>
internal static class ReportHtml
{
    private static readonly string[] Palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

    public static string Render(DrillSummary s)
    {
        var html = new StringBuilder();
        html.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Drill ").Append(E(s.Scenario)).Append("</title><style>")
            .Append("body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}")
            .Append("td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}")
            .Append(".PASS{color:#080;font-weight:bold}.FAIL{color:#c00;font-weight:bold}.N\\/A{color:#888}pre{background:#f8f8f8;padding:1em}")
            .Append("</style></head><body>");
        html.Append("<h1>Drill <code>").Append(E(s.Scenario)).Append("</code>: ").Append(s.Pass ? "<span class=\"PASS\">PASS</span>" : "<span class=\"FAIL\">FAIL</span>").Append("</h1>");
        html.Append("<p>").Append(E(s.Description)).Append("</p><p>Target <b>").Append(E(s.Target)).Append("</b>, ")
            .Append(F(s.DurationSeconds)).Append(" s").Append(s.Short ? " (short)" : "").Append(", started ").Append(s.StartedAt.ToString("u", CultureInfo.InvariantCulture))
            .Append(", ").Append(s.RequestsSent).Append(" requests, cost $").Append(s.CostUsd.ToString("0.####", CultureInfo.InvariantCulture)).Append(".</p>");

        html.Append("<h2>Targets</h2><table><tr><th>verdict</th><th>target</th><th>detail</th></tr>");
        foreach (var t in s.Targets)
        {
            html.Append("<tr><td class=\"").Append(t.Verdict).Append("\">").Append(t.Verdict).Append("</td><td>").Append(E(t.Target))
                .Append("</td><td style=\"text-align:left\">").Append(E(t.Detail)).Append("</td></tr>");
        }

        html.Append("</table>");
        html.Append("<h2>Traffic by endpoint</h2><p>").Append(E(s.TrafficBasis)).Append("; shaded: faults.</p>").Append(Chart(s));

        html.Append("<h2>Incidents</h2><table><tr><th>fault</th><th>endpoint</th><th>start s</th><th>end s</th><th>detected s</th><th>alert s (rule)</th>")
            .Append("<th>traffic moved s (limit)</th><th>recovered s (limit)</th><th>attempts during fault</th><th>pre-fault share</th></tr>");
        foreach (var i in s.Incidents)
        {
            html.Append("<tr><td>").Append(E(i.Kind)).Append("</td><td>").Append(E(i.Endpoint)).Append("</td><td>").Append(F(i.StartSeconds)).Append("</td><td>")
                .Append(F(i.EndSeconds)).Append("</td><td>").Append(N(i.DetectSeconds)).Append("</td><td>").Append(N(i.AlertSeconds))
                .Append(i.AlertRule is null ? "" : " (" + E(i.AlertRule) + ")").Append("</td><td>")
                .Append(i.MoveExpected ? N(i.MovedSeconds) + " (" + F(i.MoveLimitSeconds) + ")" : "n/a").Append("</td><td>")
                .Append(i.RecoverLimitSeconds is { } rl ? N(i.RecoverSeconds) + " (" + F(rl) + ")" : "n/a").Append("</td><td>")
                .Append(i.AttemptsDuringFault).Append("</td><td>").Append(N(i.PreShare)).Append("</td></tr>");
        }

        html.Append("</table>");
        html.Append("<h2>Classes</h2><table><tr><th>class</th><th>requests</th><th>availability</th><th>p95 latency ms</th><th>p95 TTFT ms</th>")
            .Append("<th>quality</th><th>fallback share</th><th>route reasons</th><th>served by</th><th>tokens in/out</th><th>cost $</th><th>failures</th></tr>");
        foreach (var c in s.Classes)
        {
            html.Append("<tr><td>").Append(E(c.Class)).Append("</td><td>").Append(c.Requests).Append("</td><td>").Append(Pct(c.Availability))
                .Append("</td><td>").Append(N(c.LatencyP95Ms)).Append("</td><td>").Append(N(c.TtftP95Ms)).Append("</td><td>")
                .Append(c.QualityPassRate is { } q ? Pct(q) : "—").Append("</td><td>").Append(Pct(c.FallbackShare)).Append("</td><td>")
                .Append(Counts(c.ByRouteReason)).Append("</td><td>").Append(Counts(c.ByEndpoint)).Append("</td><td>").Append(c.InputTokens).Append(" / ")
                .Append(c.OutputTokens).Append("</td><td>").Append(c.CostUsd.ToString("0.####", CultureInfo.InvariantCulture)).Append("</td><td>")
                .Append(Counts(c.Errors)).Append("</td></tr>");
        }

        html.Append("</table><h2>Budgets and spend (control plane view at the end)</h2><table><tr><th>class</th><th>tokens/min</th><th>requests/min</th>")
            .Append("<th>USD/day</th><th>spent today USD</th><th>served by fallback</th></tr>");
        foreach (var b in s.ControlPlaneBudgets)
        {
            html.Append("<tr><td>").Append(E(b.Class)).Append("</td><td>").Append(b.TokensPerMinute).Append("</td><td>").Append(b.RequestsPerMinute)
                .Append("</td><td>").Append(b.UsdPerDay?.ToString(CultureInfo.InvariantCulture) ?? "—").Append("</td><td>")
                .Append(b.DaySpentUsd?.ToString("0.####", CultureInfo.InvariantCulture) ?? "—").Append("</td><td>").Append(b.ServedByFallback).Append("</td></tr>");
        }

        html.Append("</table><h2>Endpoints (control plane view at the end)</h2><table><tr><th>endpoint</th><th>breaker</th><th>trips</th><th>window requests</th>")
            .Append("<th>window failures</th><th>p95 latency ms</th><th>ms per output token</th></tr>");
        foreach (var e in s.ControlPlaneEndpoints)
        {
            html.Append("<tr><td>").Append(E(e.Endpoint)).Append("</td><td>").Append(E(e.State)).Append("</td><td>").Append(e.Trips).Append("</td><td>")
                .Append(e.Requests).Append("</td><td>").Append(e.Failures).Append("</td><td>").Append(N(e.LatencyP95Ms)).Append("</td><td>")
                .Append(N(e.PerOutputTokenMs)).Append("</td></tr>");
        }

        html.Append("</table><p>Admin polls failed: ").Append(s.FailedAdminPolls).Append(". Data: <code>summary.json</code>.</p></body></html>");
        return html.ToString();
    }

    private static string Chart(DrillSummary s)
    {
        const int width = 960, height = 300, left = 50, bottom = 30, top = 10;
        var seconds = Math.Max(1, (int)Math.Ceiling(s.DurationSeconds));
        var max = Math.Max(1, s.TrafficByEndpoint.Values.SelectMany(v => v).DefaultIfEmpty(0).Max());
        double X(double t) => left + (width - left - 10) * t / seconds;
        double Y(double v) => top + (height - top - bottom) * (1 - v / max);
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height + 20 * ((s.TrafficByEndpoint.Count + 2) / 3)}\" role=\"img\" aria-label=\"traffic by endpoint\">");
        foreach (var i in s.Incidents)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{X(i.StartSeconds):0.#}\" y=\"{top}\" width=\"{Math.Max(1, X(i.EndSeconds) - X(i.StartSeconds)):0.#}\" height=\"{height - top - bottom}\" fill=\"#d62728\" fill-opacity=\"0.08\"><title>{E(i.Kind)} on {E(i.Endpoint)}</title></rect>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{X(i.StartSeconds) + 2:0.#}\" y=\"{top + 12}\" font-size=\"11\" fill=\"#d62728\">{E(i.Kind)}: {E(i.Endpoint)}</text>");
        }

        svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{left}\" y1=\"{height - bottom}\" x2=\"{width - 10}\" y2=\"{height - bottom}\" stroke=\"#888\"/><line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{height - bottom}\" stroke=\"#888\"/>");
        for (var t = 0; t <= seconds; t += Math.Max(1, seconds / 10))
        {
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{X(t):0.#}\" y=\"{height - bottom + 14}\" font-size=\"10\" text-anchor=\"middle\">{t}s</text>");
        }

        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{left - 4}\" y=\"{top + 10}\" font-size=\"10\" text-anchor=\"end\">{max}/s</text><text x=\"{left - 4}\" y=\"{height - bottom}\" font-size=\"10\" text-anchor=\"end\">0</text>");
        var n = 0;
        foreach (var (endpoint, series) in s.TrafficByEndpoint.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var color = Palette[n % Palette.Length];
            var points = string.Join(' ', series.Take(seconds).Select((v, t) => string.Create(CultureInfo.InvariantCulture, $"{X(t + 0.5):0.#},{Y(v):0.#}")));
            svg.Append(CultureInfo.InvariantCulture, $"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" points=\"{points}\"><title>{E(endpoint)}</title></polyline>");
            var lx = left + 310 * (n % 3);
            var ly = height + 10 + 20 * (n / 3);
            svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{lx}\" y=\"{ly - 9}\" width=\"12\" height=\"4\" fill=\"{color}\"/><text x=\"{lx + 16}\" y=\"{ly - 4}\" font-size=\"11\">{E(endpoint)}</text>");
            n++;
        }

        return svg.Append("</svg>").ToString();
    }

    private static string Counts(IReadOnlyDictionary<string, int> counts) =>
        counts.Count == 0 ? "—" : E(string.Join(", ", counts.OrderByDescending(kv => kv.Value).Select(kv => $"{kv.Key} {kv.Value}")));

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private static string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);

    private static string N(double? v) => v is { } x ? x.ToString("0.###", CultureInfo.InvariantCulture) : "—";

    private static string Pct(double v) => (v * 100).ToString("0.00", CultureInfo.InvariantCulture) + " %";
}
