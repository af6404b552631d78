// Sightline alert pages: acknowledge alerts, add and end silences through the HTTP API, and
// draw an alert window's distributions (reference vs current) with Plotly.js.
"use strict";

(function () {
  const status = document.getElementById("status");
  const actor = document.getElementById("actor");
  const ACTOR = "sightline.actor";
  const FLASH = "sightline.flash";

  if (actor) {
    if (!actor.value) actor.value = localStorage.getItem(ACTOR) || "";
    actor.addEventListener("change", () => localStorage.setItem(ACTOR, actor.value.trim()));
  }

  function say(text, bad) {
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("error", Boolean(bad));
  }

  // A message shown after the page reloads to show the new state.
  const flash = sessionStorage.getItem(FLASH);
  if (flash) {
    sessionStorage.removeItem(FLASH);
    say(flash);
  }

  function done(message) {
    sessionStorage.setItem(FLASH, message);
    window.location.reload();
  }

  async function send(method, url, body) {
    const init = { method: method, credentials: "same-origin", headers: {} };
    if (body !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const response = await fetch(url, init);
    let data = {};
    try {
      data = await response.json();
    } catch (error) {
      data = {};
    }
    if (!response.ok) {
      const field = data.errors && data.errors[0] && data.errors[0].field;
      throw new Error((field ? field + ": " : "") + (data.message || "HTTP " + response.status));
    }
    return data;
  }

  function busy(form, on) {
    form.querySelectorAll("button, input, textarea").forEach((element) => {
      element.disabled = on;
    });
  }

  function who() {
    return actor ? actor.value.trim() : "";
  }

  document.querySelectorAll("form.ack").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      busy(form, true);
      try {
        const url = "/v1/alerts/" + encodeURIComponent(form.dataset.fingerprint) + "/ack";
        await send("POST", url, { by: who(), comment: form.elements.comment.value });
        done("Acknowledged: the alert stays visible but is no longer repeated.");
      } catch (error) {
        say("Could not acknowledge: " + error.message, true);
        busy(form, false);
      }
    });
  });

  document.querySelectorAll("form.silence-form").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const matchers = form.elements.matchers.value
        .split("\n").map((line) => line.trim()).filter((line) => line !== "");
      busy(form, true);
      try {
        const body = await send("POST", "/v1/silences", {
          matchers: matchers,
          duration: form.elements.duration.value.trim(),
          comment: form.elements.comment.value,
          created_by: who(),
        });
        done("Silenced until " + body.silence.ends_at.replace("T", " ").slice(0, 19) + " UTC.");
      } catch (error) {
        say("Could not silence: " + error.message, true);
        busy(form, false);
      }
    });
  });

  document.querySelectorAll("button.expire").forEach((button) => {
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await send("DELETE", "/v1/silences/" + encodeURIComponent(button.dataset.silence));
        done("Silence ended: its alerts are notified again.");
      } catch (error) {
        say("Could not end the silence: " + error.message, true);
        button.disabled = false;
      }
    });
  });

  // -- the alert list updates itself ------------------------------------------------------

  const list = document.getElementById("alerts-page");
  if (list) {
    const signature = (alerts) => alerts
      .filter((a) => ["pending", "firing", "resolved"].includes(a.state))
      .map((a) => a.fingerprint + ":" + a.state + ":" + (a.acked_at ? 1 : 0))
      .sort().join(" ");
    const idle = () => {
      // Never reload under someone typing or choosing: only when nothing is being edited.
      const active = document.activeElement;
      return !active || !active.matches("input, textarea, select");
    };
    window.setInterval(async () => {
      if (document.hidden || !idle()) return;
      const model = list.dataset.model;
      try {
        const response = await fetch("/v1/alerts" + (model ? "?model=" + encodeURIComponent(model) : ""),
          { credentials: "same-origin" });
        if (!response.ok) return;
        const body = await response.json();
        if (signature(body.alerts) !== list.dataset.signature) window.location.reload();
      } catch (error) {
        // The server is restarting or unreachable: try again at the next tick.
      }
    }, 30000);
  }

  // -- distributions ------------------------------------------------------------------------

  const data = document.getElementById("charts-data");
  if (!data || typeof Plotly === "undefined") return;
  const charts = JSON.parse(data.textContent);
  const colors = { reference: "#8c959f", current: "#cf222e" };

  function traces(chart) {
    if (chart.categories) {
      const x = chart.categories.map(String);
      return [
        { type: "bar", name: "reference", x: x, y: chart.reference, marker: { color: colors.reference } },
        { type: "bar", name: "this window", x: x, y: chart.current, marker: { color: colors.current } },
      ];
    }
    const edges = chart.edges;
    const centers = edges.slice(0, -1).map((low, i) => (low + edges[i + 1]) / 2);
    const widths = edges.slice(0, -1).map((low, i) => edges[i + 1] - low);
    return [
      { type: "bar", name: "reference", x: centers, y: chart.reference, width: widths,
        marker: { color: colors.reference }, opacity: 0.65 },
      { type: "bar", name: "this window", x: centers, y: chart.current, width: widths,
        marker: { color: colors.current }, opacity: 0.55 },
    ];
  }

  document.querySelectorAll("figure.dist").forEach((figure) => {
    const chart = charts[Number(figure.dataset.index)];
    Plotly.newPlot(figure, traces(chart), {
      title: { text: chart.column + (chart.method ? " (" + chart.method + ")" : ""), x: 0, font: { size: 13 } },
      barmode: chart.categories ? "group" : "overlay",
      margin: { l: 45, r: 10, t: 32, b: 40 },
      legend: { orientation: "h", y: -0.22, font: { size: 11 } },
      yaxis: { tickformat: ".0%", title: { text: "share", font: { size: 11 } } },
      xaxis: { automargin: true, type: chart.categories ? "category" : "linear" },
      bargap: chart.categories ? 0.2 : 0,
    }, { displayModeBar: false, responsive: true });
  });
  document.getElementById("distributions").dataset.loaded = "true";
})();
