// Sightline model page: draws the panels from the HTTP API for the view in the URL, keeps
// filters in the URL (no reload: the page's server-rendered blocks are swapped), and extends
// the charts when new windows are computed.
//
// Requests (each scans the metric store once): the whole-table metrics of the slice
// (volume, drift share, ground truth, quality) · service health (all traffic) · the drift of
// each output · data-quality issues · drift of every column (heatmap) · the estimate's band
// (last 30 days of the range) · alerts and their history.
"use strict";

(function () {
  const S = window.Sightline;
  const root = document.getElementById("model");
  if (!root) return;
  document.documentElement.classList.add("js");

  let page = S.pageData();
  const model = page.model;
  let data = {};
  let alerts = { list: [], history: [] };
  let lastRun = null;
  let generation = 0; // a newer navigation makes older loads drop their results

  const BAND_DAYS = 30;
  const WHOLE = ["row_count", "share_of_drifted_columns", "label_coverage", "label_delay_p50"];
  const SERVICE = ["latency_p50", "latency_p95", "error_rate"];
  const SERVICE_METRICS = new Set([...SERVICE, "latency_p99", "event_count", "throughput"]);
  const ISSUES = new Set(["missing_share", "out_of_range_share", "unseen_share", "duplicated_rows_share", "schema_changes"]);

  const summary = () => page.summary;
  const view = () => {
    const v = Object.assign({}, summary().view);
    v.range_ms = S.xRange(v, summary().model.first_ts);
    return v;
  };
  const outputs = () => summary().columns.filter((c) => c.role === "output").map((c) => c.name);
  const qualityMetric = () => {
    const select = document.getElementById("quality-metric");
    const wanted = new URLSearchParams(window.location.search).get("quality");
    const options = select ? [...select.options].map((o) => o.value) : [];
    const chosen = options.includes(wanted) ? wanted : (options[0] || null);
    if (select && chosen) select.value = chosen;
    return chosen;
  };
  const estimatedOf = (metric) => {
    if (!metric) return null;
    if (metric.startsWith("estimated_")) return metric;
    return summary().quality.estimated.includes(metric) ? `estimated_${metric}` : null;
  };

  // -- loading ----------------------------------------------------------------------------------

  /** Series of the view; in a roll-up view, metrics without roll-ups come averaged from the
   * monitor's windows (marked approximate). */
  function detail(v, metrics, extra) {
    return S.detailSeries(model, v, metrics, [], Object.assign({ rollup: true }, extra));
  }

  /** Every request of the page for view ``v``; ``since`` (epoch s) asks only for windows from
   * then on. Resolves to {name: series list}. */
  async function load(v, since) {
    const start = since ? new Date(since * 1000).toISOString() : undefined;
    const extra = start ? { start } : {};
    const quality = qualityMetric();
    const estimated = estimatedOf(quality);
    const whole = WHOLE.concat(quality && !quality.startsWith("estimated_") ? [quality] : [],
      estimated ? [estimated] : []);
    const end = v.end ? Date.parse(v.end) : Date.now();
    const bandStart = Math.max(v.start ? Date.parse(v.start) : 0, end - BAND_DAYS * 86400e3, since ? since * 1000 : 0);
    const jobs = {
      whole: detail(v, whole, Object.assign({ column: "" }, extra)),
      service: detail(v, [...SERVICE, "event_count"], Object.assign({ column: "", segment: "" }, extra)),
      outputs: Promise.all(outputs().map((column) =>
        detail(v, ["drift_score", "drift_detected"], Object.assign({ column }, extra))))
        .then((lists) => lists.flat()),
      issues: S.api(`${S.modelApi(model)}/dashboard/issues`, S.viewParams(v, extra)).then((body) =>
        body.series.map((s) => Object.assign(s, {
          column: "", names: s.column.map((i) => (i >= 0 ? body.columns[i] : "")),
        }))),
      heatmap: S.detailSeries(model, v, ["drift_detected"], [], extra),
      // The band of the estimate (±2 SE of each window): at the monitor's own windows only.
      band: estimated && !v.rollup
        ? S.detailSeries(model, v, [estimated], ["lower", "upper"], { column: "", start: new Date(bandStart).toISOString() })
        : Promise.resolve([]),
      // The realized value's noise (±2 SE at each window's labelled rows) and the reference's value.
      noise: quality && !quality.startsWith("estimated_") && !v.rollup
        ? S.detailSeries(model, v, [quality], ["standard_error", "reference_value"], { column: "", start: new Date(bandStart).toISOString() })
        : Promise.resolve([]),
    };
    const names = Object.keys(jobs);
    const results = await Promise.allSettled(names.map((n) => jobs[n]));
    const out = {};
    names.forEach((name, i) => {
      if (results[i].status === "fulfilled") out[name] = results[i].value;
      else out[name] = { error: results[i].reason };
    });
    return out;
  }

  const alertsKey = () => JSON.stringify([alerts.list.map((a) => [a.fingerprint, a.state]), alerts.history.length]);

  async function loadAlerts() {
    const [list, history] = await Promise.all([
      S.api("/v1/alerts", { model }),
      S.api("/v1/alerts/history", { model, limit: 1000 }),
    ]);
    alerts = { list: list.alerts, history: history.history };
  }

  // -- drawing ----------------------------------------------------------------------------------

  const find = (list, metric, column) => (list || []).find((s) => s.metric === metric
    && (column === undefined || s.column === column));
  const fineNote = (list, v) => {
    const fine = [...new Set((list || []).filter((s) => s.approximate).map((s) => s.metric))];
    return fine.length ? `${fine.join(", ")}: not rolled up; the mean of the ${v.monitor_granularity} windows`
      + ` of each ${v.granularity} window, weighted by rows (quantiles approximate).` : "";
  };

  function overlay(v, match) {
    const end = v.range_ms ? v.range_ms[1] : Date.now();
    const episodes = S.alertEpisodes(alerts.list, alerts.history);
    return S.alertOverlay(episodes, match, end);
  }

  /** Draw ``traces`` in panel ``id`` with alert markers (``match``) and the focus band. */
  function show(id, v, traces, extra, match) {
    const over = overlay(v, match || (() => false));
    const plotLayout = S.layout(v, extra);
    plotLayout.shapes = (plotLayout.shapes || []).concat(over.shapes);
    if (v.focus_start) plotLayout.shapes.push(S.band(Date.parse(v.focus_start), Date.parse(v.focus_end)));
    if (over.count) traces = traces.concat([over.trace]);
    S.note(`note-${id}`, "");
    S.draw(`chart-${id}`, traces, plotLayout);
  }

  function failed(id, result) {
    if (result && result.error) {
      S.empty(`chart-${id}`, `note-${id}`, `Could not load: ${result.error.message}`);
      return true;
    }
    return false;
  }

  const hover = (what) => `%{x|%Y-%m-%d %H:%M}<br>${what}<extra></extra>`;

  function drawVolume(v) {
    if (failed("volume", data.whole)) return;
    // A model that only logs service events (no predictions): its volume is its events.
    const eventsOnly = summary().model.n_predictions === 0 && !data.service.error;
    const metric = eventsOnly ? "event_count" : "row_count";
    const unit = eventsOnly ? "events" : "rows";
    const rows = find(eventsOnly ? data.service : data.whole, metric);
    if (!rows || !rows.start.length) {
      S.empty("chart-volume", "note-volume", "No window computed in this range.");
      return;
    }
    const bars = rows.start.length <= 400;
    const width = S.windowMs(v.granularity);
    show("volume", v, [{
      type: bars ? "bar" : "scatter", mode: "lines", fill: bars ? undefined : "tozeroy", name: unit,
      x: S.xs(rows), y: rows.value, marker: { color: "#4c78a8" }, line: { color: "#4c78a8", width: 1 },
      // a bar covers its window: from its start, 90 % of its length
      offset: bars ? 0 : undefined, width: bars ? 0.9 * width : undefined,
      hovertemplate: hover(`%{y:,} ${unit}`),
    }], { yaxis: { title: { text: unit }, rangemode: "tozero" }, showlegend: false },
    (labels) => !labels.metric || labels.metric === metric);
    S.note("note-volume", eventsOnly ? "Service events per window: this model logs no predictions." : "");
  }

  function drawService(v) {
    if (failed("service", data.service)) return;
    const p50 = find(data.service, "latency_p50");
    const p95 = find(data.service, "latency_p95");
    const errors = find(data.service, "error_rate");
    if (!p95 && !errors) {
      S.empty("chart-service", "note-service", "No service events in this range. Log them with "
        + "sightline.log_event(model, name, latency_ms=..., status=...).");
      return;
    }
    const traces = [];
    if (p95) traces.push({ type: "scatter", mode: "lines", name: "latency p95 (ms)", x: S.xs(p95), y: p95.value,
      line: { color: "#4c78a8", width: 2 }, hovertemplate: hover("p95 %{y:.1f} ms") });
    if (p50) traces.push({ type: "scatter", mode: "lines", name: "latency p50 (ms)", x: S.xs(p50), y: p50.value,
      line: { color: "#9ecae9", width: 1 }, hovertemplate: hover("p50 %{y:.1f} ms") });
    if (errors) traces.push({ type: "scatter", mode: "lines", name: "error rate", yaxis: "y2", x: S.xs(errors),
      y: errors.value, line: { color: S.RED, width: 1.5, dash: "dot" }, hovertemplate: hover("errors %{y:.2%}") });
    show("service", v, traces, {
      yaxis: { title: { text: "ms" }, rangemode: "tozero" },
      yaxis2: { overlaying: "y", side: "right", tickformat: ".0%", nticks: 5, rangemode: "tozero", showgrid: false,
        title: { text: "errors" } },
      margin: { l: 52, r: 52, t: 10, b: 30 },
    }, (labels) => SERVICE_METRICS.has(labels.metric));
    const notes = [fineNote(data.service, v)];
    if (v.segment) notes.push("Service health is computed for all traffic and per version, not per segment.");
    S.note("note-service", notes.filter(Boolean).join(" "));
  }

  function drawDrift(v) {
    if (failed("drift", data.whole)) return;
    const share = find(data.whole, "share_of_drifted_columns");
    if (!share || !share.start.length) {
      S.empty("chart-drift", "note-drift", "No drift computed in this range.");
      return;
    }
    const threshold = summary().drift_share;
    show("drift", v, [{
      type: "scatter", mode: "lines+markers", name: "share of drifted columns", x: S.xs(share), y: share.value,
      line: { color: "#e45756", width: 1.5 },
      marker: { size: share.start.length > 300 ? 3 : 5, color: share.value.map((x) => (x !== null && x >= threshold ? S.RED : "#f4a3a3")) },
      hovertemplate: hover("%{y:.0%} of the columns drifted"),
    }], {
      yaxis: { range: [0, 1.05], tickformat: ".0%" }, showlegend: false,
      shapes: [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: threshold, y1: threshold, line: { dash: "dash", color: S.GREY } }],
    }, (labels) => labels.metric === "share_of_drifted_columns");
    S.note("note-drift", `Dataset drift when at least ${Math.round(threshold * 100)} % of the columns drift.`);
  }

  function drawPrediction(v) {
    if (failed("prediction", data.outputs)) return;
    const names = outputs();
    const latest = new Map(summary().columns.filter((c) => c.drift).map((c) => [c.name, c.drift]));
    const methods = names.map((c) => latest.get(c)).filter(Boolean);
    const scale = S.scoreScale(methods.length > 0 && methods.every((d) => d.is_test));
    const traces = [];
    names.forEach((column, i) => {
      const score = find(data.outputs, "drift_score", column);
      if (!score || !score.start.length) return;
      const detected = find(data.outputs, "drift_detected", column);
      const drifted = new Set();
      if (detected) detected.start.forEach((t, j) => { if (detected.value[j] === 1) drifted.add(t); });
      const color = S.COLORS[i % S.COLORS.length];
      const y = scale.y(score.value);
      traces.push({ type: "scatter", mode: "lines", name: S.plain(column), x: S.xs(score), y,
        line: { color, width: 1.5 },
        customdata: score.start.map((t, j) => [drifted.has(t) ? "drift" : "no drift", score.value[j]]),
        hovertemplate: `${S.plain(column)}<br>%{x|%Y-%m-%d %H:%M}<br>score %{customdata[1]:.4g} · %{customdata[0]}<extra></extra>` });
      const hits = score.start.map((t, j) => (drifted.has(t) ? j : -1)).filter((j) => j >= 0);
      if (hits.length) traces.push({ type: "scatter", mode: "markers", name: `${S.plain(column)}: drift`,
        x: hits.map((j) => score.start[j] * 1000), y: hits.map((j) => y[j]), marker: { color: S.RED, size: 6 },
        showlegend: false, hoverinfo: "skip" });
    });
    if (!traces.length) {
      S.empty("chart-prediction", "note-prediction", names.length ? "No drift score of the outputs in this range." : "The model logs no outputs.");
      return;
    }
    const thresholds = new Map(methods.map((d) => [d.threshold, d]));
    const range = v.range_ms || [traces[0].x[0], traces[0].x[traces[0].x.length - 1]];
    for (const t of thresholds.keys()) traces.push(S.thresholdLine(t, range));
    show("prediction", v, traces, { yaxis: scale.axis },
      (labels) => (labels.metric === "drift_score" || labels.metric === "drift_detected") && names.includes(labels.column));
    const described = names.filter((c) => latest.has(c)).map((c) => `${c}: ${latest.get(c).method} (threshold ${latest.get(c).threshold})`);
    S.note("note-prediction", described.length ? `Dashed: the threshold of the last window's method — ${described.join(", ")}. `
      + "Red: windows that drifted." : "");
  }

  function drawQuality(v) {
    if (failed("quality", data.whole)) return;
    const metric = qualityMetric();
    const estimatedName = estimatedOf(metric);
    const realized = metric && !metric.startsWith("estimated_") ? find(data.whole, metric) : null;
    const estimated = estimatedName ? find(data.whole, estimatedName) : null;
    const band = estimatedName && !data.band.error ? find(data.band, estimatedName) : null;
    if (!(realized && realized.start.length) && !(estimated && estimated.start.length)) {
      S.empty("chart-quality", "note-quality", metric
        ? `No ${metric} in this range: it needs ground truth (log_feedback) or a score output to estimate from.`
        : "No ground truth and no estimate for this model yet.");
      return;
    }
    const traces = [];
    if (band && band.start.length) {
      traces.push({ type: "scatter", mode: "lines", name: "estimate + 2 SE", x: S.xs(band), y: band.fields.upper,
        line: { width: 0 }, hoverinfo: "skip", showlegend: false });
      traces.push({ type: "scatter", mode: "lines", name: "estimate ± 2 SE", x: S.xs(band), y: band.fields.lower,
        line: { width: 0 }, fill: "tonexty", fillcolor: "rgba(245, 133, 24, 0.18)", hoverinfo: "skip" });
    }
    const noise = realized && data.noise && !data.noise.error ? find(data.noise, metric) : null;
    const se = noise && noise.fields.standard_error;
    if (se && se.some((x) => x !== null)) {
      const around = (sign) => noise.value.map((y, i) => (y === null || se[i] === null ? null : y + sign * 2 * se[i]));
      traces.push({ type: "scatter", mode: "lines", name: "realized + 2 SE", x: S.xs(noise), y: around(1),
        line: { width: 0 }, hoverinfo: "skip", showlegend: false, connectgaps: false });
      traces.push({ type: "scatter", mode: "lines", name: "noise (± 2 SE)", x: S.xs(noise), y: around(-1),
        line: { width: 0 }, fill: "tonexty", fillcolor: "rgba(76, 120, 168, 0.15)", hoverinfo: "skip", connectgaps: false });
    }
    const reference = noise && noise.fields.reference_value;
    if (reference && reference.some((x) => x !== null)) {
      traces.push({ type: "scatter", mode: "lines", name: "reference", x: S.xs(noise), y: reference,
        line: { color: S.GREY, dash: "dot", width: 1 }, hovertemplate: hover("reference %{y:.3f}") });
    }
    if (estimated) traces.push({ type: "scatter", mode: "lines", name: `${estimatedName} (CBPE)`, x: S.xs(estimated),
      y: estimated.value, line: { color: "#f58518", dash: "dash", width: 1.5 }, hovertemplate: hover("estimated %{y:.3f}") });
    if (realized) traces.push({ type: "scatter", mode: realized.start.length > 300 ? "lines" : "lines+markers",
      name: `${metric} (realized)`, x: S.xs(realized), y: realized.value, line: { color: "#4c78a8", width: 2 },
      marker: { size: 4 }, hovertemplate: hover(`${metric} %{y:.3f} (%{customdata:,} labels)`), customdata: realized.n_rows });
    const names = new Set([metric, estimatedName]);
    show("quality", v, traces, { yaxis: { title: { text: metric } } }, (labels) => names.has(labels.metric));
    const notes = [fineNote(data.whole.filter((s) => names.has(s.metric)), v)];
    if ((estimated && band) || se) notes.push(`Bands over the last ${BAND_DAYS} days of the range.`);
    if (estimated && v.rollup) notes.push(`The ±2 SE band is drawn with the monitor's ${v.monitor_granularity} windows.`);
    if (!(realized && realized.start.length)) notes.push("No ground truth in this range yet: the estimate only.");
    S.note("note-quality", notes.filter(Boolean).join(" "));
  }

  function drawLabels(v) {
    if (failed("labels", data.whole)) return;
    const coverage = find(data.whole, "label_coverage");
    const delay = find(data.whole, "label_delay_p50");
    if (!coverage || !coverage.start.length) {
      S.empty("chart-labels", "note-labels", "No ground truth: log it with sightline.log_feedback(model, request_id, target).");
      return;
    }
    const traces = [{ type: "scatter", mode: "lines", name: "label coverage", x: S.xs(coverage), y: coverage.value,
      line: { color: "#54a24b", width: 2 }, hovertemplate: hover("%{y:.0%} of the rows labelled") }];
    if (delay) traces.push({ type: "scatter", mode: "lines", name: "label delay p50 (hours)", yaxis: "y2", x: S.xs(delay),
      y: delay.value.map((x) => (x === null ? null : x / 3600)), line: { color: "#b279a2", dash: "dot", width: 1.5 },
      hovertemplate: hover("median delay %{y:.1f} h") });
    show("labels", v, traces, {
      yaxis: { range: [0, 1.05], tickformat: ".0%" },
      yaxis2: { overlaying: "y", side: "right", showgrid: false, title: { text: "hours" },
        range: [0, 1.3 * Math.max(1, ...(delay ? delay.value : []).map((x) => (x || 0) / 3600))] },
      margin: { l: 52, r: 52, t: 10, b: 30 },
    }, (labels) => labels.metric === "label_coverage" || (labels.metric || "").startsWith("label_delay"));
    const none = coverage.value.every((x) => !x);
    S.note("note-labels", [none ? "No ground truth in this range: log it with sightline.log_feedback(model, request_id, target)." : "",
      fineNote(data.whole.filter((s) => s.metric.startsWith("label_")), v)].filter(Boolean).join(" "));
  }

  function drawIssues(v) {
    if (failed("issues", data.issues)) return;
    const labels = { missing_share: "missing (worst column)", out_of_range_share: "out of range (worst column)",
      unseen_share: "unseen categories (worst column)", duplicated_rows_share: "duplicated rows" };
    const colors = { missing_share: "#4c78a8", out_of_range_share: "#f58518", unseen_share: "#b279a2", duplicated_rows_share: "#8c959f" };
    const traces = [];
    for (const s of data.issues) {
      if (s.metric === "schema_changes") {
        if (s.value.some((x) => x > 0)) traces.push({ type: "bar", name: "schema changes", yaxis: "y2", x: S.xs(s),
          y: s.value, marker: { color: S.RED }, hovertemplate: hover("%{y} schema changes") });
        continue;
      }
      traces.push({ type: "scatter", mode: "lines", name: labels[s.metric], x: S.xs(s), y: s.value,
        line: { color: colors[s.metric], width: 1.5, dash: s.metric === "duplicated_rows_share" ? "dot" : "solid" },
        customdata: s.names.map(S.plain),
        hovertemplate: s.metric === "duplicated_rows_share" ? hover("%{y:.2%} duplicated rows")
          : hover(`${labels[s.metric].replace(" (worst column)", "")} %{y:.2%}<br>worst: %{customdata}`) });
    }
    if (!traces.length) {
      S.empty("chart-issues", "note-issues", "No data-quality statistics in this range.");
      return;
    }
    show("issues", v, traces, {
      yaxis: { tickformat: ".1%", rangemode: "tozero" },
      yaxis2: { overlaying: "y", side: "right", rangemode: "tozero", showgrid: false, visible: traces.some((t) => t.yaxis === "y2") },
    }, (l) => ISSUES.has(l.metric));
    S.note("note-issues", "");
  }

  function drawHeatmap(v) {
    if (failed("heatmap", data.heatmap)) return;
    const order = summary().columns.map((c) => c.name);
    const list = data.heatmap.filter((s) => s.start.length)
      .sort((a, b) => order.indexOf(a.column) - order.indexOf(b.column));
    if (!list.length) {
      S.empty("chart-heatmap", "note-heatmap", "No drift computed in this range.");
      return;
    }
    const starts = [...new Set(list.flatMap((s) => s.start))].sort((a, b) => a - b);
    const index = new Map(starts.map((t, i) => [t, i]));
    const z = list.map((s) => {
      const row = starts.map(() => null);
      s.start.forEach((t, i) => { row[index.get(t)] = s.value[i]; });
      return row;
    });
    const columns = list.map((s) => s.column);
    const el = document.getElementById("chart-heatmap");
    el.onPoint = (point) => {
      const column = columns[point.pointIndex[0]];
      const start = new Date(starts[point.pointIndex[1]] * 1000).toISOString();
      const params = new URLSearchParams(window.location.search);
      params.delete("quality");
      params.set("window", start);
      window.location.href = `${S.featurePage(model, column)}?${params}`;
    };
    show("heatmap", v, [{
      // a cell covers its window (x is its middle)
      type: "heatmap", x: starts.map((t) => S.ms(t) + S.windowMs(v.granularity) / 2), y: columns.map((c, i) => i), z, zmin: 0, zmax: 1, xgap: 0, ygap: 1,
      colorscale: [[0, "#e6f4ea"], [1, "#d62728"]], showscale: false, customdata: columns.map((c) => starts.map((t) => [S.plain(c), S.fmtTime(S.ms(t))])),
      hovertemplate: "%{customdata[0]}<br>window %{customdata[1]}<br>drift: %{z}<extra></extra>",
    }], {
      height: Math.max(160, 22 * columns.length + 50),
      yaxis: { tickmode: "array", tickvals: columns.map((c, i) => i), ticktext: columns.map((c) => S.plain(c)),
        autorange: "reversed", automargin: true, showgrid: false },
    }, (labels) => (labels.metric === "drift_score" || labels.metric === "drift_detected") && !!labels.column);
  }

  function drawAll() {
    const v = view();
    drawVolume(v);
    drawService(v);
    drawDrift(v);
    drawPrediction(v);
    drawQuality(v);
    drawLabels(v);
    drawIssues(v);
    drawHeatmap(v);
  }

  /** An alert link (?metric=...&column=...): highlight its panel and say what it points at. */
  function showFocus() {
    const params = new URLSearchParams(window.location.search);
    const metric = params.get("metric");
    const box = document.getElementById("focus-note");
    document.querySelectorAll(".panel.focus").forEach((p) => p.classList.remove("focus"));
    if (!metric || !box) {
      if (box) box.hidden = true;
      return;
    }
    const column = params.get("column") || "";
    const panel = SERVICE_METRICS.has(metric) ? "service" : ISSUES.has(metric) ? "issues"
      : metric === "row_count" ? "volume" : metric === "share_of_drifted_columns" ? "drift"
        : metric.startsWith("label_") ? "labels"
          : (metric === "drift_score" || metric === "drift_detected") ? (outputs().includes(column) ? "prediction" : "heatmap")
            : "quality";
    const el = document.getElementById(`panel-${panel}`);
    if (el) el.classList.add("focus");
    box.textContent = "";
    box.append(`Opened from an alert link: ${metric}${column ? ` of ${column}` : ""}`
      + (summary().view.focus_start ? `, window ${S.fmtTime(summary().view.focus_start)} UTC (highlighted)` : "") + ". ");
    if (column && summary().columns.some((c) => c.name === column)) {
      const link = document.createElement("a");
      const q = new URLSearchParams(window.location.search);
      q.delete("metric");
      q.delete("column");
      if (summary().view.focus_start) q.set("window", summary().view.focus_start);
      link.href = `${S.featurePage(model, column)}?${q}`;
      link.textContent = `Open the feature page of ${column}`;
      box.append(link);
    }
    box.hidden = false;
  }

  async function render() {
    const mine = ++generation;
    const v = view();
    const [loaded] = await Promise.all([load(v, null), loadAlerts().catch(() => {})]);
    if (mine !== generation) return;
    data = loaded;
    drawAll();
    showFocus();
    lastRun = summary().last_run && summary().last_run.finished_at;
    root.dataset.loaded = "true";
  }

  // -- navigation: filters change the URL, the blocks and the charts --------------------------

  async function navigate(url, push) {
    root.dataset.loaded = "false";
    if (push) history.pushState(null, "", url);
    try {
      page = await S.refreshBlocks(url, true);
    } catch (error) {
      window.location.assign(url); // the server will say what is wrong
      return;
    }
    await render();
  }

  /** The URL of the filters' values; a version and a segment exclude each other (points are
   * computed per version or per segment value), the one just chosen wins. */
  function filterUrl(form, changed) {
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(form)) if (value) params.set(key, value);
    if (changed === "version" && params.get("version")) params.delete("segment");
    if (changed === "segment" && params.get("segment")) params.delete("version");
    const current = new URLSearchParams(window.location.search);
    for (const key of ["metric", "column"]) if (current.get(key)) params.set(key, current.get(key));
    return `${window.location.pathname}${params.toString() ? "?" + params : ""}`;
  }

  // Delegated: the filters form is swapped with the page's other live blocks.
  document.addEventListener("change", (event) => {
    const form = event.target.closest("#filters");
    if (form && event.target.id !== "quality-metric") navigate(filterUrl(form, event.target.name), true);
  });
  document.addEventListener("submit", (event) => {
    if (event.target.id !== "filters") return;
    event.preventDefault();
    navigate(filterUrl(event.target), true);
  });
  document.addEventListener("click", (event) => {
    const link = event.target.closest("#filters a.range");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    navigate(link.href, true);
  });

  document.addEventListener("change", async (event) => {
    if (event.target.id !== "quality-metric") return;
    const params = new URLSearchParams(window.location.search);
    params.set("quality", event.target.value);
    history.replaceState(null, "", `${window.location.pathname}?${params}`);
    await render();
  });
  window.addEventListener("popstate", () => navigate(window.location.href, false));

  // -- live updates -------------------------------------------------------------------------------

  async function update() {
    const runs = await S.api(`${S.modelApi(model)}/runs`, { limit: 1, monitor: summary().view.monitor });
    const run = runs.runs[0];
    const finished = run ? run.finished_at : null;
    const before = alertsKey();
    await loadAlerts().catch(() => {});
    if (finished === lastRun) {
      if (alertsKey() !== before) drawAll(); // an alert changed state: its markers
      return;
    }
    const shown = summary().view;
    page = await S.refreshBlocks(window.location.href, false);
    const v = view();
    if (v.granularity !== shown.granularity || v.version !== shown.version || v.segment !== shown.segment) {
      await render();
      return;
    }
    const mine = generation;
    const fresh = {};
    const since = {};
    for (const [name, list] of Object.entries(data)) since[name] = Array.isArray(list) ? S.lastStart(list) : null;
    const first = Math.min(...Object.values(since).filter((t) => t !== null));
    const loaded = await load(v, Number.isFinite(first) ? first : null);
    if (mine !== generation) return;
    const from = v.start ? Date.parse(v.start) / 1000 : null;
    for (const [name, list] of Object.entries(loaded)) {
      fresh[name] = (list.error || !Array.isArray(data[name])) ? list : S.merge(data[name], list, first, from);
    }
    data = fresh;
    drawAll();
    lastRun = finished;
    root.dataset.updates = String(Number(root.dataset.updates || 0) + 1);
  }

  render().catch((error) => {
    const p = document.createElement("p");
    p.className = "error";
    p.textContent = `Could not load the charts: ${error.message}`;
    root.prepend(p);
  });
  if (summary().view.range !== "custom" || !summary().view.end) S.every(S.pollMs(), update);
})();
