// The control plane dashboard: reads /admin/v1/dashboard/* with the operator's key (Authorization header, never a
// query string or cookie), follows the event stream with fetch + ReadableStream, and calls the existing admin routes
// for breaker and drain actions. All text goes through textContent: nothing from the server becomes markup.
"use strict";
(function () {
  const KEY = "controlplane.dashboard.key";
  const $ = id => document.getElementById(id);
  let key = sessionStorage.getItem(KEY);
  let streamAbort = null;
  let historyTimer = null;
  let generation = 0;

  function show(node, text) { node.textContent = text; node.hidden = !text; }
  function pct(v) { return v === null || v === undefined ? "–" : (v * 100).toFixed(v < 0.1 && v > 0 ? 2 : 1) + " %"; }
  function ms(v) { return v === null || v === undefined ? "–" : Math.round(v) + " ms"; }
  function text(tag, value, cls) { const n = document.createElement(tag); n.textContent = value; if (cls) n.className = cls; return n; }
  function setStatus(s) { $("connection").textContent = s; }

  async function problemText(response) {
    let detail = "";
    try {
      const body = await response.json();
      detail = [body.title, body.detail].filter(Boolean).join(": ");
    } catch (e) { detail = response.statusText; }
    if (response.status === 401) return "401 Unauthorized: the key was not accepted (" + detail + ")";
    if (response.status === 403) return "403 Forbidden: this key's roles do not allow this action (" + detail + ")";
    return response.status + " " + detail;
  }

  function api(path, init) {
    const options = init || {};
    options.headers = Object.assign({ "Authorization": "Bearer " + key }, options.headers || {});
    options.cache = "no-store";
    return fetch(path, options);
  }

  // ---- rendering ----
  function renderFleet(s) {
    const rows = $("fleet-rows");
    const select = $("action-endpoint");
    const chosen = select.value;
    rows.replaceChildren();
    select.replaceChildren();
    for (const e of s.endpoints) {
      const tr = document.createElement("tr");
      tr.dataset.testid = "endpoint-row-" + e.id;
      const th = text("th", e.id); th.scope = "row"; tr.appendChild(th);
      tr.appendChild(text("td", e.provider + " / " + e.model));
      tr.appendChild(text("td", e.region));
      const state = text("td", e.state, "state state-" + e.state);
      state.dataset.testid = "breaker-state-" + e.id;
      tr.appendChild(state);
      const why = e.override ? e.reason + " (" + e.override.kind + " by " + e.override.actor + ": " + e.override.reason + ")" : e.reason;
      const whyCell = text("td", why); whyCell.dataset.testid = "breaker-reason-" + e.id; tr.appendChild(whyCell);
      tr.appendChild(text("td", String(e.requests)));
      tr.appendChild(text("td", pct(e.errorRate), e.errorRate > 0.05 ? "below" : ""));
      tr.appendChild(text("td", ms(e.latencyP95Ms) + " / " + ms(e.baselineLatencyP95Ms)));
      tr.appendChild(text("td", ms(e.baselineTtftP95Ms)));
      tr.appendChild(text("td", "tpm " + pct(e.tokenUse) + ", rpm " + pct(e.requestUse)));
      tr.appendChild(text("td", e.deprecation || "–"));
      const td = document.createElement("td");
      const act = text("button", "Act");
      act.type = "button";
      act.setAttribute("aria-label", "Act on " + e.id);
      act.dataset.testid = "act-" + e.id;
      act.addEventListener("click", () => { select.value = e.id; $("action-reason").focus(); });
      td.appendChild(act);
      tr.appendChild(td);
      rows.appendChild(tr);
      const option = text("option", e.id); option.value = e.id; select.appendChild(option);
    }
    if (chosen) select.value = chosen;
  }

  function slo(dl, label, v) {
    if (!v) return;
    dl.appendChild(text("dt", label));
    const dd = text("dd", pct(v.attained) + " of " + pct(v.target) + "; budget left " + pct(v.budgetRemaining) + "; burn " + v.burnRate.toFixed(2) + "x",
      v.attained < v.target ? "below" : "");
    dl.appendChild(dd);
  }

  function renderClasses(s) {
    const box = $("classes");
    box.replaceChildren();
    for (const c of s.classes) {
      const card = document.createElement("article");
      card.className = "card";
      card.dataset.testid = "class-card-" + c.name;
      card.appendChild(text("h3", c.name));
      const dl = document.createElement("dl");
      dl.appendChild(text("dt", "mode")); dl.appendChild(text("dd", c.mode + (c.breakGlass ? " (break-glass)" : "") + ", " + c.priority));
      slo(dl, "availability", c.availability);
      slo(dl, "quality", c.quality);
      slo(dl, "latency", c.latency);
      dl.appendChild(text("dt", "fallback (5 min)")); dl.appendChild(text("dd", pct(c.fallbackRate5m) + "; " + c.servedByFallback + " served by fallback"));
      dl.appendChild(text("dt", "cost / success")); dl.appendChild(text("dd", c.costPerSuccessUsd === null ? "–" : "$" + c.costPerSuccessUsd.toFixed(4)));
      dl.appendChild(text("dt", "alerts")); dl.appendChild(text("dd", String(c.alertCount)));
      card.appendChild(dl);
      box.appendChild(card);
    }
  }

  function renderAlerts(s) {
    const list = $("alerts");
    list.replaceChildren();
    if (s.alerts.length === 0) { list.appendChild(text("li", "none firing", "muted")); return; }
    for (const a of s.alerts) {
      const li = text("li", "[" + a.severity + "] " + a.rule + " on " + a.targetKind + " " + a.targetId + ": " + a.summary);
      li.dataset.testid = "alert-" + a.rule + "-" + a.targetId;
      list.appendChild(li);
    }
  }

  function renderAudit(s) {
    const list = $("audit");
    list.replaceChildren();
    for (const a of s.audit) {
      const li = text("li", new Date(a.at).toLocaleTimeString() + " " + a.actor + " " + a.action + " " + a.target + ": " + a.reason);
      li.dataset.testid = "audit-" + a.sequence;
      list.appendChild(li);
    }
  }

  function render(s) {
    $("fleet-name").textContent = s.fleetName ? s.fleetName + (s.fleetVersion ? " " + s.fleetVersion : "") : "";
    $("node-name").textContent = "node " + s.node;
    renderFleet(s); renderClasses(s); renderAlerts(s); renderAudit(s);
    document.body.dataset.snapshotAt = s.at;
  }

  function renderHistory(h) {
    const ids = [];
    for (const sample of h.samples) for (const p of sample.endpoints) if (!ids.includes(p.id)) ids.push(p.id);
    const series = pick => ids.map(id => ({
      name: id,
      points: h.samples.map(sample => {
        const p = sample.endpoints.find(q => q.id === id);
        return [Date.parse(sample.at), p ? pick(p) : null];
      }),
    }));
    DashboardCharts.lineChart($("chart-traffic"), series(p => p.requests), v => String(Math.round(v)));
    DashboardCharts.lineChart($("chart-errors"), series(p => p.errorRate), v => (v * 100).toFixed(0) + "%", 0.05);
    DashboardCharts.lineChart($("chart-p95"), series(p => p.latencyP95Ms), v => Math.round(v) + "ms");
    const legend = $("chart-legend");
    legend.replaceChildren();
    ids.forEach((id, i) => {
      const li = document.createElement("li");
      li.appendChild(text("span", "", "swatch sw-" + (i % DashboardCharts.colorCount)));
      li.appendChild(document.createTextNode(id));
      legend.appendChild(li);
    });
  }

  // ---- data ----
  async function loadHistory(run) {
    try {
      const r = await api("/admin/v1/dashboard/history?minutes=60");
      if (run === generation && r.ok) renderHistory(await r.json());
    } catch (e) { /* the next poll retries */ }
  }

  async function follow(run) {
    while (run === generation) {
      streamAbort = new AbortController();
      try {
        const r = await api("/admin/v1/dashboard/stream", { signal: streamAbort.signal, headers: { "Accept": "text/event-stream" } });
        if (!r.ok) { show($("message"), await problemText(r)); setStatus("Stream refused"); return; }
        setStatus("Live");
        const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            let event = "message", data = "";
            for (const line of block.split("\n")) {
              if (line.startsWith("event: ")) event = line.slice(7);
              else if (line.startsWith("data: ")) data += line.slice(6);
            }
            if (event === "snapshot" && run === generation) render(JSON.parse(data));
            else if (event === "unavailable") setStatus("Live (snapshot unavailable, retrying)");
          }
        }
      } catch (e) {
        if (run !== generation) return;
      }
      if (run !== generation) return;
      setStatus("Reconnecting…");
      await new Promise(resolve => setTimeout(resolve, 3000));
    }
  }

  function stop() {
    generation++;
    if (streamAbort) streamAbort.abort();
    if (historyTimer) clearInterval(historyTimer);
  }

  async function connect() {
    stop();
    const run = generation;
    show($("message"), "");
    setStatus("Connecting…");
    let r;
    try { r = await api("/admin/v1/dashboard/snapshot"); }
    catch (e) { show($("message"), "The control plane could not be reached: " + e.message); setStatus("Not connected"); return; }
    if (!r.ok) {
      show($("message"), await problemText(r));
      setStatus("Not connected");
      if (r.status === 401) { sessionStorage.removeItem(KEY); key = null; }
      return;
    }
    render(await r.json());
    $("board").hidden = false;
    loadHistory(run);
    historyTimer = setInterval(() => loadHistory(run), 10000);
    follow(run);
  }

  async function act(event) {
    event.preventDefault();
    const id = $("action-endpoint").value;
    const kind = $("action-kind").value;
    const reason = $("action-reason").value.trim();
    show($("action-result"), ""); show($("action-error"), "");
    if (!id || !reason) { show($("action-error"), "Choose an endpoint and give a reason."); return; }
    let path, body;
    if (kind === "drain" || kind === "undrain") { path = "/admin/v1/endpoints/" + encodeURIComponent(id) + "/" + kind; body = { reason }; }
    else { path = "/admin/v1/endpoints/" + encodeURIComponent(id) + "/breaker"; body = { state: kind, reason }; }
    const button = $("action-form").querySelector("button");
    button.disabled = true;
    try {
      const r = await api(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      if (!r.ok) { show($("action-error"), await problemText(r)); return; }
      const view = await r.json();
      // The endpoint view names the published state; an override names it as the grid does.
      const names = { force_open: "forced_open", force_closed: "forced_closed", drain: "draining" };
      const state = view.override ? names[view.override.kind] || view.breaker.state : view.breaker.state;
      show($("action-result"), "Done: " + id + " is now " + state + ".");
      $("action-reason").value = "";
    } catch (e) {
      show($("action-error"), "The request failed: " + e.message);
    } finally {
      button.disabled = false;
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("key-form").addEventListener("submit", event => {
      event.preventDefault();
      key = $("key-input").value.trim();
      $("key-input").value = "";
      if (!key) return;
      sessionStorage.setItem(KEY, key);
      connect();
    });
    $("key-forget").addEventListener("click", () => {
      stop();
      key = null;
      sessionStorage.removeItem(KEY);
      $("board").hidden = true;
      setStatus("Not connected");
    });
    $("action-form").addEventListener("submit", act);
    if (key) connect();
  });
})();
