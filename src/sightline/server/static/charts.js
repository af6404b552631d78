// Sightline dashboard: helpers shared by the pages' scripts — the HTTP API, Plotly layouts,
// alert markers, series merging and live updates. Plain JavaScript, no build step.
//
// Every name shown in a chart goes through Sightline.plain() (Plotly reads a small HTML
// subset in labels); everything put in the page goes through textContent or the server's
// autoescaped templates; names in URLs through encodeURIComponent.
"use strict";

window.Sightline = (function () {
  const COLORS = ["#4c78a8", "#f58518", "#54a24b", "#b279a2", "#72b7b2", "#eeca3b", "#9d755d",
    "#ff9da6", "#bab0ac", "#e45756"];
  const RED = "#cf222e";
  const GREY = "#8c959f";
  const STATE_COLORS = { firing: "#cf222e", pending: "#bf8700", resolved: "#8c959f", cleared: "#8c959f" };
  // No mode bar: it would cover the alert markers at the top of the charts. Drag to zoom,
  // double-click to zoom out.
  const config = { responsive: true, displaylogo: false, displayModeBar: false };

  /** The JSON the server embedded in the page (#page-data). */
  function pageData(doc) {
    const el = (doc || document).getElementById("page-data");
    return el ? JSON.parse(el.textContent) : {};
  }

  /** Text for Plotly labels: it reads a small HTML subset, so <, > and & are escaped. */
  function plain(text) {
    return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function query(params) {
    const q = new URLSearchParams();
    for (const [key, value] of Object.entries(params || {})) {
      if (value === null || value === undefined) continue;
      if (Array.isArray(value)) value.forEach((v) => q.append(key, v));
      else q.append(key, value);
    }
    return q.toString();
  }

  /** GET a JSON API; rejects with the server's message on an error status. */
  async function api(path, params) {
    const response = await fetch(`${path}?${query(params)}`, { headers: { accept: "application/json" } });
    if (!response.ok) {
      let message = `HTTP ${response.status}`;
      try {
        message = (await response.json()).message || message;
      } catch (e) { /* not JSON */ }
      throw new Error(message);
    }
    return response.json();
  }

  const modelApi = (model) => `/v1/models/${encodeURIComponent(model)}`;
  const modelPage = (model) => `/models/${encodeURIComponent(model)}`;
  const featurePage = (model, column) =>
    `/models/${encodeURIComponent(model)}/features/${encodeURIComponent(column)}`;

  /** Query parameters of a resolved view (see the dashboard API): absolute start and end, the
   * resolved granularity, the slice. ``overrides`` win. */
  function viewParams(view, overrides) {
    return Object.assign({
      granularity: view.granularity,
      monitor: view.monitor,
      start: view.start || undefined,
      end: view.end || undefined,
      version: view.version,
      segment: view.segment,
    }, overrides || {});
  }

  /** Series of the metrics API (format=series). */
  async function series(model, view, metrics, extra) {
    const params = viewParams(view, Object.assign({ metric: metrics, format: "series" }, extra || {}));
    return (await api(`${modelApi(model)}/metrics`, params)).series;
  }

  /** Series with detail fields (the dashboard API). */
  async function detailSeries(model, view, metrics, fields, extra) {
    const params = viewParams(view, Object.assign({ metric: metrics, fields: fields }, extra || {}));
    return (await api(`${modelApi(model)}/dashboard/series`, params)).series;
  }

  const seriesKey = (s) => [s.metric, s.column, s.model_version, s.segment_key, s.segment_value].join("\u0000");

  /** ``old`` series extended with ``fresh`` ones (points from ``since`` on replaced), then
   * points before ``from`` (a sliding range) dropped. */
  function merge(old, fresh, since, from) {
    const byKey = new Map(old.map((s) => [seriesKey(s), s]));
    for (const s of fresh) {
      const before = byKey.get(seriesKey(s));
      if (!before) {
        byKey.set(seriesKey(s), s);
        continue;
      }
      const cut = before.start.findIndex((t) => t >= since);
      const keep = cut < 0 ? before.start.length : cut;
      for (const name of ["start", "value", "n_rows", "names"]) {
        if (before[name] && s[name]) before[name] = before[name].slice(0, keep).concat(s[name]);
      }
      for (const name of Object.keys(s.fields || {})) {
        before.fields[name] = (before.fields[name] || []).slice(0, keep).concat(s.fields[name]);
      }
    }
    const merged = [...byKey.values()];
    if (from !== null && from !== undefined) {
      for (const s of merged) {
        const first = s.start.findIndex((t) => t >= from);
        const drop = first < 0 ? s.start.length : first;
        if (!drop) continue;
        for (const name of ["start", "value", "n_rows", "names"]) if (s[name]) s[name] = s[name].slice(drop);
        for (const name of Object.keys(s.fields || {})) s.fields[name] = s.fields[name].slice(drop);
      }
    }
    return merged;
  }

  /** The last window start (epoch seconds) in a list of series, or null. */
  function lastStart(list) {
    let last = null;
    for (const s of list) if (s.start.length) last = Math.max(last ?? -Infinity, s.start[s.start.length - 1]);
    return last;
  }

  const ms = (seconds) => seconds * 1000;
  const SECONDS = { "5m": 300, "15m": 900, "1h": 3600, "1d": 86400, "1w": 604800 };
  /** The length of a window of ``granularity`` in milliseconds. */
  const windowMs = (granularity) => (SECONDS[granularity] || 3600) * 1000;
  const xs = (s) => s.start.map(ms);

  function fmtTime(value) {
    const date = typeof value === "number" ? new Date(value) : new Date(value);
    return date.toISOString().slice(0, 16).replace("T", " ");
  }

  /** The x range of a view, in epoch milliseconds. */
  function xRange(view, firstTs) {
    const start = view.start ? Date.parse(view.start) : (firstTs ? Date.parse(firstTs) : null);
    const end = view.end ? Date.parse(view.end) : Date.now();
    return start === null ? null : [start, end];
  }

  /** A Plotly layout: compact, dates in UTC on x, ``extra`` merged in (one level deep). */
  function layout(view, extra) {
    const base = {
      height: 230,
      margin: { l: 52, r: 16, t: 10, b: 30 },
      font: { family: "system-ui, -apple-system, 'Segoe UI', sans-serif", size: 12, color: "#1f2328" },
      xaxis: { type: "date", automargin: true, hoverformat: "%Y-%m-%d %H:%M", showgrid: false },
      yaxis: { automargin: true, zeroline: false, gridcolor: "#eaeef2" },
      legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom", font: { size: 11 } },
      hovermode: "closest",
      paper_bgcolor: "rgba(0,0,0,0)",
      plot_bgcolor: "rgba(0,0,0,0)",
      shapes: [],
    };
    if (view && view.range_ms) base.xaxis.range = view.range_ms.slice();
    for (const [key, value] of Object.entries(extra || {})) {
      base[key] = value && typeof value === "object" && !Array.isArray(value) && base[key]
        ? Object.assign({}, base[key], value) : value;
    }
    return base;
  }

  /** A highlighted time span (the window an alert's link is about). */
  function band(start, end, color) {
    return {
      type: "rect", xref: "x", yref: "paper", x0: start, x1: end, y0: 0, y1: 1,
      fillcolor: color || "rgba(255, 212, 59, 0.25)", line: { width: 0 }, layer: "below",
    };
  }

  /** How to plot drift scores: p-values (``isTest``) on a log axis (zero floored at 1e-16,
   * hover shows the real value), distances on a linear one. */
  const P_FLOOR = 1e-16;
  function scoreScale(isTest) {
    if (isTest) {
      return {
        axis: { type: "log", title: { text: "p-value (log)" }, exponentformat: "power" },
        y: (values) => values.map((x) => (x === null ? null : Math.max(x, P_FLOOR))),
      };
    }
    return { axis: { title: { text: "score" }, rangemode: "tozero" }, y: (values) => values };
  }

  /** A horizontal threshold line across the x range, as a trace (shapes misplace on log axes). */
  function thresholdLine(value, range, label) {
    return {
      type: "scatter", mode: "lines", x: range, y: [value, value], name: label || "threshold",
      line: { dash: "dash", color: GREY, width: 1 }, hoverinfo: "skip", showlegend: false,
    };
  }

  // -- alerts -------------------------------------------------------------------------------

  /** Alert episodes (from pending or firing to resolved) from the alerts and their history:
   * {fingerprint, rule, labels, state, start, end (ms; null while open), summary}. */
  function alertEpisodes(alerts, history) {
    const instances = new Map(alerts.map((a) => [a.fingerprint, a]));
    const open = new Map();
    const episodes = [];
    const time = (t, ...names) => {
      for (const name of names) if (t[name]) return Date.parse(t[name]);
      return null;
    };
    const sorted = [...history].sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
    for (const t of sorted) {
      const instance = instances.get(t.fingerprint);
      let episode = open.get(t.fingerprint);
      if (t.to_state === "pending" || t.to_state === "firing") {
        if (!episode) {
          episode = {
            fingerprint: t.fingerprint, rule: t.rule, labels: t.labels || {}, state: t.to_state,
            start: time(t, "window_start", "at"), end: null,
            summary: instance ? (instance.annotations || {}).summary || t.summary : t.summary,
          };
          open.set(t.fingerprint, episode);
          episodes.push(episode);
        }
        if (t.to_state === "firing") episode.state = "firing";
      } else if (episode && (t.to_state === "resolved" || t.to_state === "inactive")) {
        episode.end = time(t, "window_end", "at");
        episode.state = episode.state === "firing" ? "resolved" : "cleared";
        open.delete(t.fingerprint);
      }
    }
    for (const a of alerts) {
      if ((a.state === "firing" || a.state === "pending") && !open.has(a.fingerprint)) {
        const context = a.context || {};
        const start = context.window_start || a.active_since || a.fired_at || a.updated_at;
        if (!start) continue;
        episodes.push({
          fingerprint: a.fingerprint, rule: a.rule, labels: a.labels || {}, state: a.state,
          start: Date.parse(start), end: null, summary: (a.annotations || {}).summary || a.rule,
        });
      }
    }
    return episodes;
  }

  /** Shapes (spans) and a clickable marker trace of the episodes ``match`` keeps. */
  function alertOverlay(episodes, match, endMs) {
    const chosen = episodes.filter((e) => match(e.labels || {}, e));
    const shapes = chosen.map((e) => ({
      type: "rect", xref: "x", yref: "paper", x0: e.start, x1: e.end || endMs, y0: 0, y1: 1,
      fillcolor: STATE_COLORS[e.state] || GREY, opacity: e.state === "firing" ? 0.13 : 0.08,
      line: { width: 0 }, layer: "below",
    }));
    const trace = {
      type: "scatter", mode: "markers", yaxis: "y9", meta: "alerts", name: "alerts", showlegend: false,
      x: chosen.map((e) => e.start), y: chosen.map(() => 0.97),
      customdata: chosen.map((e) => e.fingerprint),
      hovertext: chosen.map((e) => `${plain(e.rule)} (${e.state})`
        + `${e.labels.column ? " · " + plain(e.labels.column) : ""}<br>${plain(e.summary || "")}`
        + "<br>click to open the alert"),
      hoverinfo: "text",
      marker: { symbol: "triangle-down", size: 13, color: chosen.map((e) => STATE_COLORS[e.state] || GREY),
        line: { width: 1, color: "#fff" } },
    };
    return { shapes, trace, count: chosen.length };
  }

  const overlayAxis = { overlaying: "y", range: [0, 1], visible: false, fixedrange: true };

  /** Plotly.react, plus navigation to the alert page when an alert marker is clicked. */
  function draw(el, traces, plotLayout, onClick) {
    const target = typeof el === "string" ? document.getElementById(el) : el;
    if (traces.some((t) => t.yaxis === "y9")) plotLayout.yaxis9 = overlayAxis;
    target.hidden = false; // shown before drawing: Plotly sizes the chart from its box
    Plotly.react(target, traces, plotLayout, config);
    if (!target.dataset.clicks) {
      target.dataset.clicks = "true";
      target.on("plotly_click", (event) => {
        const point = event.points && event.points[0];
        if (!point) return;
        if (point.data.meta === "alerts") {
          window.location.href = `/alerts/${encodeURIComponent(point.customdata)}`;
        } else if (target.onPoint) {
          target.onPoint(point);
        }
      });
    }
  }

  function note(id, text) {
    const el = document.getElementById(id);
    if (el) el.textContent = text || "";
  }

  /** Show ``text`` instead of a chart (``chartId``) with no data. */
  function empty(chartId, noteId, text) {
    const chart = document.getElementById(chartId);
    if (chart && chart.data) Plotly.purge(chart);
    if (chart) chart.hidden = true;
    note(noteId, text);
  }

  // -- live updates ---------------------------------------------------------------------------

  /** Replace the page's [data-live] blocks with those of ``url`` (fetched), keeping focus
   * where it was; a block holding the focus is left alone unless ``force``. Returns the new
   * page's data (#page-data). */
  async function refreshBlocks(url, force) {
    const response = await fetch(url, { headers: { accept: "text/html" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const doc = new DOMParser().parseFromString(await response.text(), "text/html");
    const active = document.activeElement;
    const focusKey = active && (active.id || active.getAttribute("name") || active.getAttribute("data-window")
      || active.getAttribute("data-range"));
    for (const el of document.querySelectorAll("[data-live]")) {
      const fresh = doc.getElementById(el.id);
      if (!fresh || fresh.innerHTML === el.innerHTML) continue;
      if (!force && el.contains(active)) continue;
      const hadFocus = el.contains(active);
      el.replaceWith(fresh);
      if (hadFocus && focusKey !== null) {
        const again = fresh.querySelector(`[id="${CSS.escape(focusKey)}"], [name="${CSS.escape(focusKey)}"],`
          + ` [data-window="${CSS.escape(focusKey)}"], [data-range="${CSS.escape(focusKey)}"]`);
        (again || fresh).focus({ preventScroll: true });
      }
    }
    const title = doc.querySelector("title");
    if (title) document.title = title.textContent;
    return pageData(doc);
  }

  /** Run ``fn`` every ``ms`` milliseconds while the page is visible, one run at a time. */
  function every(periodMs, fn) {
    let busy = false;
    return setInterval(async () => {
      if (document.hidden || busy) return;
      busy = true;
      try {
        await fn();
      } catch (error) {
        console.warn("Sightline: update failed:", error);
      } finally {
        busy = false;
      }
    }, periodMs);
  }

  /** How often pages look for new windows (ms); window.sightlinePollMs overrides it. */
  const pollMs = () => Number(window.sightlinePollMs) || 30000;

  return {
    COLORS, RED, GREY, STATE_COLORS, alertEpisodes, alertOverlay, api, band, detailSeries, draw,
    empty, every, featurePage, fmtTime, windowMs, lastStart, layout, merge, modelApi, modelPage, ms, note,
    pageData, plain, pollMs, query, refreshBlocks, scoreScale, series, thresholdLine, viewParams,
    xRange, xs,
  };
})();
