// Sightline feature page: the chosen window's distributions (reference and current), the
// column's drift score and data quality over time. Clicking a point of the drift chart, or a
// window link, selects that window (kept in the URL as ?window=...); the server-rendered
// window section is swapped without a reload. New windows extend the charts.
"use strict";

(function () {
  const S = window.Sightline;
  const root = document.getElementById("feature");
  if (!root) return;
  document.documentElement.classList.add("js");

  let page = S.pageData();
  const model = page.model;
  const column = page.column;
  let series = { drift: [], quality: [] };
  let alerts = { list: [], history: [] };
  let lastRun = null;
  let generation = 0;

  const detail = () => page.detail;
  const view = () => {
    const v = Object.assign({}, detail().view);
    v.range_ms = S.xRange(v, null);
    return v;
  };
  const numerical = () => detail().column.kind === "numerical";
  const find = (list, metric) => (list || []).find((s) => s.metric === metric);
  const hover = (what) => `%{x|%Y-%m-%d %H:%M}<br>${what}<extra></extra>`;

  // -- the window -------------------------------------------------------------------------------

  function drawDistribution() {
    const chart = document.getElementById("chart-distribution");
    if (!chart) return; // no window yet
    const drift = detail().drift;
    const dist = drift && drift.distribution;
    if (!dist || !dist.reference || !dist.reference.length) {
      S.empty("chart-distribution", "note-distribution", "No binned distribution is stored for this window.");
      return;
    }
    const colors = { reference: "#8fb3d9", current: "#f58518" };
    let x;
    let labels;
    const extra = { bargap: 0.15, bargroupgap: 0.05, hovermode: "x", legend: { orientation: "h", x: 0, y: 1.02, yanchor: "bottom" } };
    if (dist.edges) {
      const e = dist.edges;
      x = dist.reference.map((_, i) => (e[i] + e[i + 1]) / 2);
      labels = dist.reference.map((_, i) => `[${e[i].toPrecision(4)}, ${e[i + 1].toPrecision(4)}${i === e.length - 2 ? "]" : ")"}`);
      extra.xaxis = { type: "linear", title: { text: S.plain(column) }, showgrid: false };
    } else {
      x = dist.categories.map((c) => S.plain(c));
      labels = x;
      extra.xaxis = { type: "category", title: { text: S.plain(column) } };
    }
    const bar = (name, values, color) => ({
      type: "bar", name, x, y: values, marker: { color }, customdata: labels,
      hovertemplate: `${name}: %{y:.1%}<br>%{customdata}<extra></extra>`,
    });
    S.note("note-distribution", "");
    S.draw(chart, [bar("reference", dist.reference, colors.reference), bar("this window", dist.current, colors.current)],
      S.layout(null, Object.assign({ height: 260, yaxis: { tickformat: ".0%", title: { text: "share of rows" } } }, extra)));
    const hidden = dist.categories && drift.n_categories && drift.n_categories > dist.categories.length;
    S.note("note-distribution", hidden ? "The most frequent categories only." : "");
  }

  // -- over time ----------------------------------------------------------------------------------

  async function load(v, since) {
    const extra = { column };
    if (since) extra.start = new Date(since * 1000).toISOString();
    const qualityMetrics = ["missing_share", numerical() ? "out_of_range_share" : "unseen_share"]
      .concat(numerical() ? ["mean"] : []);
    extra.rollup = true;
    const [drift, quality] = await Promise.all([
      S.detailSeries(model, v, ["drift_score", "drift_detected"], [], extra),
      S.detailSeries(model, v, qualityMetrics, [], extra),
    ]);
    return { drift, quality };
  }

  async function loadAlerts() {
    const [list, history] = await Promise.all([
      S.api("/v1/alerts", { model }),
      S.api("/v1/alerts/history", { model, limit: 1000 }),
    ]);
    alerts = { list: list.alerts, history: history.history };
  }

  function withAlerts(v, traces, plotLayout) {
    const episodes = S.alertEpisodes(alerts.list, alerts.history);
    const end = v.range_ms ? v.range_ms[1] : Date.now();
    const over = S.alertOverlay(episodes, (labels) => labels.column === column, end);
    plotLayout.shapes = (plotLayout.shapes || []).concat(over.shapes);
    if (v.focus_start) plotLayout.shapes.push(S.band(Date.parse(v.focus_start), Date.parse(v.focus_end)));
    return over.count ? traces.concat([over.trace]) : traces;
  }

  function drawDriftTime(v) {
    const score = find(series.drift, "drift_score");
    if (!score || !score.start.length) {
      S.empty("chart-drift-time", "note-drift-time", "No drift score of this column in this range.");
      return;
    }
    const method = detail().method;
    const scale = S.scoreScale(!!(method && method.is_test));
    const detected = find(series.drift, "drift_detected");
    const drifted = new Set();
    if (detected) detected.start.forEach((t, i) => { if (detected.value[i] === 1) drifted.add(t); });
    const y = scale.y(score.value);
    const hits = score.start.map((t, i) => (drifted.has(t) ? i : -1)).filter((i) => i >= 0);
    const traces = [{
      type: "scatter", mode: score.start.length > 400 ? "lines" : "lines+markers", name: "drift score",
      x: S.xs(score), y, line: { color: "#4c78a8", width: 1.5 }, marker: { size: 4 },
      customdata: score.start.map((t, i) => [drifted.has(t) ? "drift" : "no drift", score.value[i]]),
      hovertemplate: hover("score %{customdata[1]:.4g} · %{customdata[0]}<br>click to open this window"),
    }];
    if (hits.length) traces.push({ type: "scatter", mode: "markers", name: "drift", x: hits.map((i) => score.start[i] * 1000),
      y: hits.map((i) => y[i]), marker: { color: S.RED, size: 6 }, hoverinfo: "skip" });
    const range = v.range_ms || [traces[0].x[0], traces[0].x[traces[0].x.length - 1]];
    if (method && method.threshold !== null && method.threshold !== undefined) traces.push(S.thresholdLine(method.threshold, range));
    const shapes = [];
    const w = detail().window;
    if (w) shapes.push(S.band(Date.parse(w.start), Date.parse(w.end), "rgba(9, 105, 218, 0.18)"),
      { type: "line", xref: "x", yref: "paper", x0: Date.parse(w.start), x1: Date.parse(w.start), y0: 0, y1: 1,
        line: { color: "#0969da", width: 1 } });
    const plotLayout = S.layout(v, { shapes, hovermode: "x", showlegend: false, yaxis: scale.axis });
    const chart = document.getElementById("chart-drift-time");
    chart.onPoint = (point) => {
      if (point.data.meta === "alerts") return;
      selectWindow(new Date(point.x).toISOString());
    };
    S.draw(chart, withAlerts(v, traces, plotLayout), plotLayout);
    S.note("note-drift-time", method ? `Dashed: the threshold of the chosen window's method (${method.name}, ${method.threshold}); `
      + "red: windows that drifted by their own method and threshold." : "");
  }

  function drawQualityTime(v) {
    const missing = find(series.quality, "missing_share");
    if (!missing || !missing.start.length) {
      S.empty("chart-quality-time", "note-quality-time", "No data-quality statistics of this column in this range.");
      return;
    }
    const other = find(series.quality, numerical() ? "out_of_range_share" : "unseen_share");
    const mean = find(series.quality, "mean");
    const traces = [{ type: "scatter", mode: "lines", name: "missing", x: S.xs(missing), y: missing.value,
      line: { color: "#4c78a8", width: 1.5 }, hovertemplate: hover("missing %{y:.2%}") }];
    if (other) traces.push({ type: "scatter", mode: "lines", name: numerical() ? "out of range" : "unseen categories",
      x: S.xs(other), y: other.value, line: { color: "#f58518", width: 1.5 }, hovertemplate: hover("%{y:.2%}") });
    if (mean) traces.push({ type: "scatter", mode: "lines", name: "mean", yaxis: "y2", x: S.xs(mean), y: mean.value,
      line: { color: "#54a24b", width: 1.5, dash: "dot" }, hovertemplate: hover("mean %{y:.4g}") });
    const top = Math.max(0, ...missing.value, ...(other ? other.value : []));
    const plotLayout = S.layout(v, {
      yaxis: { tickformat: ".1%", rangemode: "tozero", range: top < 0.01 ? [0, 0.01] : undefined },
      yaxis2: { overlaying: "y", side: "right", showgrid: false, title: { text: "mean" }, visible: !!mean },
      margin: { l: 52, r: mean ? 56 : 16, t: 10, b: 30 },
    });
    const w = detail().window;
    if (w) plotLayout.shapes.push(S.band(Date.parse(w.start), Date.parse(w.end), "rgba(9, 105, 218, 0.18)"));
    S.draw("chart-quality-time", withAlerts(v, traces, plotLayout), plotLayout);
    S.note("note-quality-time", (series.quality || []).some((s) => s.approximate)
      ? `Not rolled up: the mean of the monitor's ${v.monitor_granularity} windows, weighted by rows.` : "");
  }

  function drawTime() {
    const v = view();
    drawDriftTime(v);
    drawQualityTime(v);
  }

  async function render() {
    const mine = ++generation;
    const v = view();
    const [loaded] = await Promise.all([load(v, null), loadAlerts().catch(() => {})]);
    if (mine !== generation) return;
    series = loaded;
    drawDistribution();
    drawTime();
    root.dataset.loaded = "true";
  }

  // -- navigation ----------------------------------------------------------------------------------

  async function swap(url, push) {
    if (push) history.pushState(null, "", url);
    try {
      page = await S.refreshBlocks(url, true);
    } catch (error) {
      window.location.assign(url);
      return false;
    }
    return true;
  }

  /** Show another window (``start`` ISO; "" = the latest): the window section and the marks. */
  async function selectWindow(start) {
    const params = new URLSearchParams(window.location.search);
    if (start) params.set("window", start);
    else params.delete("window");
    root.dataset.loaded = "false";
    if (!(await swap(`${window.location.pathname}?${params}`, true))) return;
    drawDistribution();
    drawTime();
    const heading = document.getElementById("h-window");
    if (heading) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
    root.dataset.loaded = "true";
  }

  async function navigate(url, push) {
    root.dataset.loaded = "false";
    if (await swap(url, push)) await render();
  }

  /** The URL of the filters' values; a version and a segment exclude each other (points are
   * computed per version or per segment value), the one just chosen wins. */
  function filterUrl(form, changed) {
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(form)) if (value) params.set(key, value);
    if (changed === "version" && params.get("version")) params.delete("segment");
    if (changed === "segment" && params.get("segment")) params.delete("version");
    return `${window.location.pathname}${params.toString() ? "?" + params : ""}`;
  }

  document.addEventListener("change", (event) => {
    const form = event.target.closest("#filters");
    if (form) navigate(filterUrl(form, event.target.name), true);
  });
  document.addEventListener("submit", (event) => {
    if (event.target.id !== "filters") return;
    event.preventDefault();
    navigate(filterUrl(event.target), true);
  });
  document.addEventListener("click", (event) => {
    if (event.ctrlKey || event.metaKey || event.shiftKey) return;
    const range = event.target.closest("#filters a.range");
    const windowLink = event.target.closest("a.window-link");
    if (range) {
      event.preventDefault();
      navigate(range.href, true);
    } else if (windowLink) {
      event.preventDefault();
      selectWindow(windowLink.dataset.window);
    }
  });
  window.addEventListener("popstate", () => navigate(window.location.href, false));

  // -- live updates ---------------------------------------------------------------------------------

  async function update() {
    const runs = await S.api(`${S.modelApi(model)}/runs`, { limit: 1, monitor: detail().view.monitor });
    const finished = runs.runs.length ? runs.runs[0].finished_at : null;
    await loadAlerts().catch(() => {});
    if (finished === lastRun) return;
    const shown = detail().window && detail().window.start;
    page = await S.refreshBlocks(window.location.href, false);
    if ((detail().window && detail().window.start) !== shown) drawDistribution();
    const mine = generation;
    const first = Math.min(...["drift", "quality"].map((k) => S.lastStart(series[k])).filter((t) => t !== null));
    const v = view();
    const loaded = await load(v, Number.isFinite(first) ? first : null);
    if (mine !== generation) return;
    const from = v.start ? Date.parse(v.start) / 1000 : null;
    series = {
      drift: Number.isFinite(first) ? S.merge(series.drift, loaded.drift, first, from) : loaded.drift,
      quality: Number.isFinite(first) ? S.merge(series.quality, loaded.quality, first, from) : loaded.quality,
    };
    drawTime();
    lastRun = finished;
    root.dataset.updates = String(Number(root.dataset.updates || 0) + 1);
  }

  render().then(() => S.api(`${S.modelApi(model)}/runs`, { limit: 1, monitor: detail().view.monitor }))
    .then((runs) => { lastRun = runs.runs.length ? runs.runs[0].finished_at : null; })
    .catch((error) => {
      const p = document.createElement("p");
      p.className = "error";
      p.textContent = `Could not load the charts: ${error.message}`;
      root.prepend(p);
    });
  if (detail().view.range !== "custom" || !detail().view.end) S.every(S.pollMs(), update);
})();
