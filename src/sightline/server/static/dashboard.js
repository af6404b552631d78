// Sightline model page: fetches metric points from the HTTP API and draws them with Plotly.js.
"use strict";

(function () {
  const section = document.getElementById("model");
  if (!section) return;
  const model = section.dataset.model;
  const RANGES = { "1d": 1, "7d": 7, "30d": 30, all: null };
  const params = new URLSearchParams(window.location.search);
  const range = params.get("range") in RANGES ? params.get("range") : "7d";
  const layout = (title, extra) => Object.assign({
    title: { text: title, x: 0, font: { size: 15 } },
    margin: { l: 50, r: 20, t: 40, b: 40 },
    legend: { orientation: "h", y: -0.2 },
    xaxis: { type: "date" },
    hovermode: "closest",
  }, extra || {});
  const config = { responsive: true, displaylogo: false };

  document.querySelectorAll("button.range").forEach((button) => {
    button.classList.toggle("active", button.dataset.range === range);
    button.addEventListener("click", () => {
      const next = new URLSearchParams(window.location.search);
      next.set("range", button.dataset.range);
      window.location.search = next.toString();
    });
  });

  function query(metric, extra) {
    const q = new URLSearchParams(Object.assign({ metric: metric, distributions: "false" }, extra || {}));
    const days = RANGES[range];
    if (days !== null) q.set("start", new Date(Date.now() - days * 86400e3).toISOString());
    return fetch(`/v1/models/${encodeURIComponent(model)}/metrics?${q}`)
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))))
      .then((body) => body.points);
  }

  function byColumn(points) {
    const groups = new Map();
    for (const p of points) {
      if (!groups.has(p.column)) groups.set(p.column, []);
      groups.get(p.column).push(p);
    }
    return groups;
  }

  function drawRows(points) {
    Plotly.newPlot("chart-rows", [{
      type: "bar", name: "rows",
      x: points.map((p) => p.window_start), y: points.map((p) => p.value),
      marker: { color: "#4c78a8" },
    }], layout("Rows per window"), config);
  }

  function drawShare(points) {
    const x = points.map((p) => p.window_start);
    const threshold = points.length ? points[points.length - 1].details.threshold : 0.5;
    Plotly.newPlot("chart-share", [
      { type: "scatter", mode: "lines+markers", name: "share of drifted columns",
        x: x, y: points.map((p) => p.value), line: { color: "#e45756" } },
      { type: "scatter", mode: "lines", name: "dataset drift threshold",
        x: x, y: x.map(() => threshold), line: { dash: "dash", color: "#888" } },
    ], layout("Share of drifted columns", { yaxis: { range: [0, 1.05], tickformat: ".0%" } }), config);
  }

  function drawDrift(points) {
    const traces = [];
    for (const [column, series] of byColumn(points)) {
      traces.push({
        type: "scatter", mode: "lines", name: column,
        x: series.map((p) => p.window_start), y: series.map((p) => p.value),
        customdata: series.map((p) => [p.details.method, p.details.threshold, p.details.drifted]),
        hovertemplate: `${column}<br>%{x}<br>score %{y:.3f} (%{customdata[0]}, threshold %{customdata[1]})<br>drift: %{customdata[2]}<extra></extra>`,
      });
    }
    const thresholds = new Set(points.map((p) => p.details.threshold).filter((t) => t !== undefined));
    const shapes = [...thresholds].map((t) => ({
      type: "line", xref: "paper", x0: 0, x1: 1, y0: t, y1: t, line: { dash: "dash", color: "#888" },
    }));
    Plotly.newPlot("chart-drift", traces, layout("Drift score by column (dashed: threshold)", { shapes: shapes }), config);
  }

  function drawHeatmap(points) {
    const groups = byColumn(points);
    const columns = [...groups.keys()];
    const windows = [...new Set(points.map((p) => p.window_start))].sort();
    const index = new Map(windows.map((w, i) => [w, i]));
    const z = columns.map((c) => {
      const row = windows.map(() => null);
      for (const p of groups.get(c)) row[index.get(p.window_start)] = p.value;
      return row;
    });
    Plotly.newPlot("chart-heatmap", [{
      type: "heatmap", x: windows, y: columns, z: z, zmin: 0, zmax: 1,
      colorscale: [[0, "#e8f1e4"], [1, "#d62728"]], showscale: false,
      hovertemplate: "%{y}<br>%{x}<br>drift: %{z}<extra></extra>",
    }], layout("Drift detected (red) by column and window", { margin: { l: 140, r: 20, t: 40, b: 40 } }), config);
  }

  function fmt(value, digits) {
    return value === null || value === undefined ? "—" : Number(value).toFixed(digits);
  }

  function drawLatest(driftPoints, missingPoints) {
    const body = document.querySelector("#latest tbody");
    body.textContent = "";
    if (!driftPoints.length) {
      body.insertAdjacentHTML("beforeend", "<tr><td colspan=8>No window computed yet.</td></tr>");
      return;
    }
    const last = driftPoints[driftPoints.length - 1].window_start;
    const missing = new Map(missingPoints.filter((p) => p.window_start === last).map((p) => [p.column, p.value]));
    for (const p of driftPoints.filter((p) => p.window_start === last)) {
      const d = p.details;
      const moved = ((d.distribution || {}).moved || []).slice(0, 2).map((m) =>
        m.category !== undefined ? `${m.category} ${(100 * m.change).toFixed(1)} pp`
          : `[${fmt(m.range[0], 2)}, ${fmt(m.range[1], 2)}) ${(100 * m.change).toFixed(1)} pp`).join("; ");
      const row = document.createElement("tr");
      const cells = [p.column, d.method, fmt(p.value, 4), d.threshold, d.status === "ok" ? (d.drifted ? "DRIFT" : "no") : d.status,
        `${d.n_reference} / ${d.n_current}`, missing.has(p.column) ? `${(100 * missing.get(p.column)).toFixed(1)} %` : "—", moved];
      cells.forEach((text, i) => {
        const cell = document.createElement("td");
        cell.textContent = text;
        if (i === 4 && d.drifted) cell.className = "bad";
        row.appendChild(cell);
      });
      body.appendChild(row);
    }
  }

  Promise.all([
    query("row_count", { column: "" }),
    query("share_of_drifted_columns"),
    query("drift_score"),
    query("drift_detected"),
    query("missing_share"),
  ]).then(([rows, share, drift, detected, missing]) => {
    drawRows(rows);
    drawShare(share);
    drawDrift(drift);
    drawHeatmap(detected);
    if (drift.length) {
      const last = drift[drift.length - 1].window_start;
      query("drift_score", { start: last, distributions: "true" }).then((latest) =>
        drawLatest(latest.filter((p) => p.window_start === last), missing));
    } else {
      drawLatest([], missing);
    }
    section.dataset.loaded = "true";
  }).catch((error) => {
    section.insertAdjacentHTML("afterbegin", `<p class="error">Could not load metrics: ${error.message}</p>`);
  });
})();
