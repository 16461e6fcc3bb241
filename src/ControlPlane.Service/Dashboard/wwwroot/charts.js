// Small SVG line charts for the dashboard: no library, no inline styles (the page's CSP allows none).
"use strict";
(function () {
  const NS = "http://www.w3.org/2000/svg";
  const COLORS = ["#0969da", "#cf222e", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#57606a", "#0a7ea4"];
  const W = 480, H = 200, L = 48, R = 8, T = 10, B = 24;

  function el(name, attrs, text) {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function clock(ms) {
    const d = new Date(ms);
    return String(d.getHours()).padStart(2, "0") + ":" + String(d.getMinutes()).padStart(2, "0");
  }

  // series: [{ name, points: [[timeMs, value|null], ...] }]; format: value -> label.
  function lineChart(svg, series, format, fixedMax) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    let t0 = Infinity, t1 = -Infinity, max = fixedMax || 0;
    for (const s of series) {
      for (const [t, v] of s.points) {
        t0 = Math.min(t0, t); t1 = Math.max(t1, t);
        if (v !== null && v > max) max = v;
      }
    }
    svg.appendChild(el("line", { x1: L, y1: H - B, x2: W - R, y2: H - B, stroke: "#8c959f" }));
    svg.appendChild(el("line", { x1: L, y1: T, x2: L, y2: H - B, stroke: "#8c959f" }));
    if (!isFinite(t0)) {
      svg.appendChild(el("text", { x: W / 2, y: H / 2, "text-anchor": "middle", fill: "#5b6470", "font-size": 12 }, "no samples yet"));
      return;
    }
    if (max <= 0) max = 1;
    if (t1 === t0) t1 = t0 + 1;
    const x = t => L + (t - t0) / (t1 - t0) * (W - L - R);
    const y = v => H - B - v / max * (H - T - B);
    svg.appendChild(el("text", { x: L - 4, y: T + 8, "text-anchor": "end", fill: "#5b6470", "font-size": 10 }, format(max)));
    svg.appendChild(el("text", { x: L - 4, y: H - B, "text-anchor": "end", fill: "#5b6470", "font-size": 10 }, format(0)));
    svg.appendChild(el("text", { x: L, y: H - 6, fill: "#5b6470", "font-size": 10 }, clock(t0)));
    svg.appendChild(el("text", { x: W - R, y: H - 6, "text-anchor": "end", fill: "#5b6470", "font-size": 10 }, clock(t1)));
    series.forEach((s, i) => {
      const color = COLORS[i % COLORS.length];
      let path = "";
      let pen = false;
      for (const [t, v] of s.points) {
        if (v === null) { pen = false; continue; }
        path += (pen ? " L" : " M") + x(t).toFixed(1) + " " + y(v).toFixed(1);
        pen = true;
      }
      if (path) {
        const line = el("path", { d: path.trim(), fill: "none", stroke: color, "stroke-width": 2, "data-series": s.name });
        line.appendChild(el("title", {}, s.name));
        svg.appendChild(line);
      }
      if (s.points.length === 1 && s.points[0][1] !== null) {
        svg.appendChild(el("circle", { cx: x(s.points[0][0]), cy: y(s.points[0][1]), r: 3, fill: color }));
      }
    });
  }

  window.DashboardCharts = { lineChart, colorCount: COLORS.length };
})();
