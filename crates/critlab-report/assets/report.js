// critlab report: builds the Vega-Lite charts from the JSON embedded in the page (or, live,
// fetched from `critlab serve`). No request leaves the page except the live server's own
// /api/ routes. When every chart has been embedded, <html data-rendered="true"> is set.
"use strict";
(function () {
  const el = (id) => document.getElementById(id);
  let D = JSON.parse(el("critlab-data").textContent);
  const LIVE = D.live || null;
  const state = { chargeRun: null, metric: null, x: "step", xlog: true, ylog: false, smooth: 0.6, group: "", marks: true, filter: "", sort: "id", dir: 1 };
  const views = {};
  window.critlab = { views, state, data: () => D };

  const fmt = (v) => {
    if (v === null || v === undefined) return "";
    if (typeof v !== "number") return String(v);
    if (Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : String(+v.toPrecision(5));
  };
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  const cell = (r, col) => (col in r ? r[col] : r.spec[col]);

  // ---- run table: sortable (click a header), filterable (free text, key=value, key<value, key>value)
  const COLS = () => ["id", "status", "phase", "t_mem", "t_grok"].concat(D.keys);
  function matches(r, tok) {
    const m = tok.match(/^([^=<>]+)(=|<|>)(.*)$/);
    if (m) {
      const v = cell(r, m[1]);
      if (v === undefined) return false;
      if (m[2] === "=") return String(v) === m[3] || (typeof v === "number" && v === Number(m[3]));
      const n = Number(m[3]);
      return typeof v === "number" && (m[2] === "<" ? v < n : v > n);
    }
    const text = COLS().map((c) => fmt(cell(r, c))).join(" ") + " " + (r.sweep || "");
    return text.toLowerCase().includes(tok.toLowerCase());
  }
  function visibleRuns() {
    const toks = state.filter.split(/\s+/).filter(Boolean);
    return D.runs.filter((r) => toks.every((t) => matches(r, t)));
  }
  function renderTable() {
    const rows = visibleRuns().slice();
    const k = state.sort;
    rows.sort((a, b) => {
      const x = cell(a, k), y = cell(b, k);
      if (x === y) return 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * state.dir;
    });
    const head = COLS().map((c) => `<th data-col="${esc(c)}" class="${c === k ? (state.dir > 0 ? "asc" : "desc") : ""}">${esc(c)}</th>`).join("");
    const body = rows
      .map((r) => `<tr data-run="${r.id}" title="${esc(r.phase_reason + (r.phase_source === "computed" ? " (computed for this page)" : "") + (r.reason ? " | " + r.reason : ""))}">` + COLS().map((c) => `<td class="${c === "phase" ? "ph-" + esc(r.phase) : ""}">${esc(fmt(cell(r, c)))}</td>`).join("") + "</tr>")
      .join("");
    el("runs").innerHTML = `<thead><tr>${head}</tr></thead><tbody>${body}</tbody>`;
    el("shown").textContent = `${rows.length} of ${D.runs.length} runs shown`;
    el("runs").querySelectorAll("th").forEach((th) =>
      th.addEventListener("click", () => {
        const c = th.dataset.col;
        state.dir = state.sort === c ? -state.dir : 1;
        state.sort = c;
        renderTable();
      })
    );
    document.documentElement.dataset.runs = String(D.runs.length);
  }

  // ---- curves: smoothing (TensorBoard's debiased EMA), grouping (mean ± standard deviation)
  function ema(ys, w) {
    if (w <= 0) return ys;
    let last = 0, n = 0;
    return ys.map((y) => {
      if (y === null || !isFinite(y)) return null;
      last = last * w + (1 - w) * y;
      n += 1;
      return last / (1 - Math.pow(w, n));
    });
  }
  function curvePoints(runs) {
    const byId = new Map(D.curves.map((c) => [c.run, c]));
    const out = [];
    for (const r of runs) {
      const c = byId.get(r.id);
      const ys = c && c.values[state.metric];
      if (!ys) continue;
      const sm = ema(ys, state.smooth);
      const scale = state.x === "epoch" ? r.epoch_per_step : 1;
      if (scale === null || scale === undefined) continue;
      const group = state.group ? `${state.group}=${fmt(r.spec[state.group])}` : `run ${r.id}`;
      c.steps.forEach((s, i) => {
        const x = s * scale, y = sm[i];
        if (y === null || (state.xlog && x <= 0) || (state.ylog && y <= 0)) return;
        out.push({ run: `run ${r.id}`, group, x, y, raw: ys[i] });
      });
    }
    return out;
  }
  function bands(points) {
    const acc = new Map();
    for (const p of points) {
      const key = p.group + "\u0000" + p.x;
      if (!acc.has(key)) acc.set(key, { group: p.group, x: p.x, ys: [] });
      acc.get(key).ys.push(p.y);
    }
    return Array.from(acc.values()).map((a) => {
      const n = a.ys.length, mean = a.ys.reduce((s, v) => s + v, 0) / n;
      const sd = n > 1 ? Math.sqrt(a.ys.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1)) : 0;
      let lo = mean - sd;
      if (state.ylog && lo <= 0) lo = Math.min(...a.ys);
      return { group: a.group, x: a.x, mean, lo, hi: mean + sd, n };
    }).sort((p, q) => (p.group < q.group ? -1 : p.group > q.group ? 1 : p.x - q.x));
  }
  function curvesSpec() {
    const runs = visibleRuns();
    const pts = curvePoints(runs);
    const xTitle = state.x === "epoch" ? "epoch" : "step";
    const x = { field: "x", type: "quantitative", title: xTitle, scale: state.xlog ? { type: "log" } : { type: "linear", zero: false } };
    const y = { type: "quantitative", title: state.metric + (state.smooth > 0 ? ` (EMA ${state.smooth})` : ""), scale: state.ylog ? { type: "log" } : { type: "linear", zero: false } };
    const zoom = [{ name: "zoom", select: "interval", bind: "scales" }];
    const many = (n) => (n > 20 ? null : { title: null });
    let layers;
    if (state.group) {
      const b = bands(pts);
      const groups = new Set(b.map((p) => p.group)).size;
      layers = [
        { data: { values: b }, mark: { type: "area", opacity: 0.25, clip: true }, encoding: { x, y: Object.assign({}, y, { field: "lo" }), y2: { field: "hi" }, color: { field: "group", type: "nominal", legend: many(groups) } } },
        { data: { values: b }, params: zoom, mark: { type: "line", clip: true, strokeWidth: 2 }, encoding: { x, y: Object.assign({}, y, { field: "mean" }), color: { field: "group", type: "nominal" }, tooltip: [{ field: "group" }, { field: "x", title: xTitle }, { field: "mean", format: ".4~g" }, { field: "lo", title: "mean - sd", format: ".4~g" }, { field: "hi", title: "mean + sd", format: ".4~g" }, { field: "n", title: "runs" }] } },
      ];
    } else {
      layers = [{ data: { values: pts }, params: zoom, mark: { type: "line", clip: true, strokeWidth: 1.5 }, encoding: { x, y: Object.assign({}, y, { field: "y" }), color: { field: "run", type: "nominal", legend: many(runs.length), sort: null }, tooltip: [{ field: "run" }, { field: "x", title: xTitle }, { field: "y", format: ".4~g", title: "smoothed" }, { field: "raw", format: ".4~g" }] } }];
      if (state.marks && runs.length <= 50) {
        const marks = [];
        for (const r of runs) {
          const scale = state.x === "epoch" ? r.epoch_per_step : 1;
          for (const [name, t] of [["t_mem", r.t_mem], ["t_grok", r.t_grok]]) {
            if (t !== null && t !== undefined && scale && !(state.xlog && t <= 0)) marks.push({ run: `run ${r.id}`, x: t * scale, transition: name });
          }
        }
        if (marks.length) {
          layers.push({ data: { values: marks }, mark: { type: "rule", clip: true, strokeWidth: 1.2 }, encoding: { x, color: { field: "run", type: "nominal", sort: null }, strokeDash: { field: "transition", type: "nominal", scale: { domain: ["t_mem", "t_grok"], range: [[2, 2], [6, 3]] }, legend: { title: "transition" } }, tooltip: [{ field: "run" }, { field: "transition" }, { field: "x", title: xTitle }] } });
        }
      }
    }
    return { width: "container", height: 340, autosize: { type: "fit-x", contains: "padding" }, layer: layers, resolve: { scale: { color: "shared" } } };
  }

  // ---- phase diagram and t_grok map (cells in drawing coordinates: log10 on a log axis)
  function axisOf(name, log, ticks) {
    const a = { title: log ? `${name} (log scale)` : name, grid: false, values: ticks };
    a.labelExpr = log ? "format(pow(10, datum.value), '.3~g')" : "format(datum.value, '.3~g')";
    return a;
  }
  const SHORT = { comprehension: "comp", grokking: "grok", memorization: "mem", confusion: "conf", diverged: "div", running: "run", failed: "fail", "no-data": "none" };
  function diagramSpec(kind) {
    const d = D.phase_diagram;
    const lt = d.cells.filter((c) => c.t_grok).map((c) => Math.log10(c.t_grok));
    const [lo, hi] = [Math.min(...lt), Math.max(...lt)];
    const present = D.phase_colors.filter((p) => d.cells.some((c) => c.phase === p[0]));
    const darkPhase = new Set(["memorization", "diverged", "failed", "comprehension"]);
    const cells = d.cells.map((c) => Object.assign({}, c, {
      label: kind === "phase" ? (SHORT[c.phase] || c.phase) + (c.share < 1 ? ` ${Math.round(c.share * c.runs.length)}/${c.runs.length}` : "") : (c.t_grok ? fmt(Math.round(c.t_grok)) : "never"),
      tg: c.t_grok || null, nruns: c.runs.length,
      dark: kind === "phase" ? darkPhase.has(c.phase) : !!c.t_grok && (hi <= lo || (Math.log10(c.t_grok) - lo) / (hi - lo) < 0.6),
    }));
    const centres = (k) => Array.from(new Set(cells.map((c) => c[k]))).sort((a, b) => a - b);
    const x = { field: "x0", type: "quantitative", scale: { zero: false, nice: false }, axis: axisOf(d.x, d.x_log, centres("xc")) };
    const y = { field: "y0", type: "quantitative", scale: { zero: false, nice: false }, axis: axisOf(d.y, d.y_log, centres("yc")) };
    const colour = kind === "phase"
      ? { field: "phase", type: "nominal", title: "phase", scale: { domain: present.map((p) => p[0]), range: present.map((p) => p[1]) } }
      : { field: "tg", type: "quantitative", title: "t_grok", scale: { type: "log", scheme: "viridis" } };
    const tooltip = [{ field: "x", title: d.x }, { field: "y", title: d.y }, { field: "phase" }, { field: "share", format: ".2f" }, { field: "nruns", title: "runs" }, { field: "tg", title: "median t_grok" }, { field: "n_t_grok", title: "runs reaching t_grok" }];
    const rect = (values, color, params) => ({ data: { values }, params, mark: { type: "rect", stroke: "#fff", strokeWidth: 1 }, encoding: { x, x2: { field: "x1" }, y, y2: { field: "y1" }, color, tooltip } });
    const zoom = [{ name: "zoom_" + kind, select: "interval", bind: "scales" }];
    const never = cells.filter((c) => c.tg === null), reached = cells.filter((c) => c.tg !== null);
    const layers = kind === "phase" ? [rect(cells, colour, zoom)] : [];
    if (kind === "tgrok" && never.length) layers.push(rect(never, { value: "#e8e8e8" }, zoom));
    if (kind === "tgrok" && reached.length) layers.push(rect(reached, colour, layers.length ? [] : zoom));
    layers.push({ data: { values: cells }, mark: { type: "text", fontSize: 10, clip: true }, encoding: { x: { field: "xc", type: "quantitative" }, y: { field: "yc", type: "quantitative" }, text: { field: "label" }, color: { condition: { test: "datum.dark", value: "#fff" }, value: "#222" } } });
    if (d.boundaries.length) {
      layers.push({ data: { values: d.boundaries }, mark: { type: "rule", strokeWidth: 3, color: "#111", strokeCap: "round" }, encoding: { x: { field: "x0", type: "quantitative" }, y: { field: "y0", type: "quantitative" }, x2: { field: "x1" }, y2: { field: "y1" }, tooltip: [{ field: "between", title: "boundary between" }] } });
    }
    return { width: 380, height: 300, title: kind === "phase" ? "phase (majority over seeds), boundaries drawn" : "t_grok (median over seeds that reach it)", layer: layers };
  }

  // ---- Noether charges against theory (one run at a time) and the early-warning score
  function chargeRuns() {
    return Array.from(new Set(D.charges.map((c) => c.run))).sort((a, b) => a - b);
  }
  function noetherSpec() {
    const run = state.chargeRun;
    const mine = D.charges.filter((c) => c.run === run);
    const curves = D.curves.find((c) => c.run === run);
    const measured = [], predicted = [];
    for (const ch of mine) {
      const ys = curves && curves.values[ch.name];
      if (ys) curves.steps.forEach((s, i) => { if (ys[i] !== null) measured.push({ charge: ch.name, step: s, q: ys[i], what: "measured" }); });
      for (const [s, q] of ch.predicted || []) if (q !== null) predicted.push({ charge: ch.name, step: s, q, what: "theory" });
    }
    const positive = measured.concat(predicted).every((p) => p.q > 0);
    const x = { field: "step", type: "quantitative", title: "step" };
    const y = { field: "q", type: "quantitative", title: "charge Q", scale: positive ? { type: "log" } : { zero: false } };
    const layers = [{ data: { values: measured }, params: [{ name: "zoom_noether", select: "interval", bind: "scales" }], mark: { type: "line", clip: true, strokeWidth: 2 }, encoding: { x, y, color: { field: "charge", type: "nominal" }, tooltip: [{ field: "charge" }, { field: "step" }, { field: "q", format: ".4~g" }] } }];
    if (predicted.length) layers.push({ data: { values: predicted }, mark: { type: "line", clip: true, strokeDash: [6, 4], strokeWidth: 1.5 }, encoding: { x, y, color: { field: "charge", type: "nominal" }, tooltip: [{ field: "charge" }, { field: "step" }, { field: "q", format: ".4~g", title: "theory" }] } });
    return { width: "container", height: 300, autosize: { type: "fit-x", contains: "padding" }, title: `run ${run}: measured (solid) and theory (dashed)`, layer: layers };
  }
  function noetherTable() {
    const mine = D.charges.filter((c) => c.run === state.chargeRun);
    const rate = (r) => (r ? `${fmt(r[0])} ± ${fmt(r[1])}` : "");
    el("charges").innerHTML = "<thead><tr><th>charge</th><th>theory</th><th>relative drift</th><th>residual</th><th>fitted rate</th><th>expected rate</th></tr></thead><tbody>" +
      mine.map((c) => `<tr><td>${esc(c.name)}</td><td class="left">${esc(c.theory)}</td><td>${fmt(c.relative_drift)}</td><td>${fmt(c.residual)}</td><td>${rate(c.fitted_rate)}</td><td>${fmt(c.expected_rate)}</td></tr>`).join("") + "</tbody>";
  }
  function ewsSpec() {
    const s = D.early_warning.scores.filter((r) => r.precision !== null && r.recall !== null);
    const base = D.early_warning.scores.length ? D.early_warning.scores[0].base_rate : null;
    const layers = [{ data: { values: s }, mark: { type: "point", filled: true, size: 90 }, encoding: { x: { field: "recall", type: "quantitative", scale: { domain: [0, 1.05] } }, y: { field: "precision", type: "quantitative", title: "precision", scale: { domain: [0, 1.05] } }, color: { field: "indicator", type: "nominal" }, tooltip: [{ field: "indicator" }, { field: "hits" }, { field: "misses" }, { field: "false_alarms", title: "false alarms" }, { field: "precision", format: ".2f" }, { field: "recall", format: ".2f" }, { field: "median_lead", title: "median lead (steps)" }] } }];
    if (base !== null) layers.push({ data: { values: [{ base }] }, mark: { type: "rule", strokeDash: [6, 4], color: "#888" }, encoding: { y: { field: "base", type: "quantitative", title: null }, tooltip: [{ field: "base", title: "chance (share of runs that grok)", format: ".2f" }] } });
    return { width: 360, height: 280, title: "precision against recall (dashed: chance)", layer: layers };
  }
  function ewsTable() {
    const rows = D.early_warning.scores;
    el("ews-table").innerHTML = "<thead><tr><th>indicator</th><th>hits</th><th>misses</th><th>false alarms</th><th>quiet</th><th>precision</th><th>chance</th><th>recall</th><th>median lead</th></tr></thead><tbody>" +
      rows.map((r) => `<tr><td>${esc(r.indicator)}</td><td>${r.hits}</td><td>${r.misses}</td><td>${r.false_alarms}</td><td>${r.quiet}</td><td>${fmt(r.precision)}</td><td>${fmt(r.base_rate)}</td><td>${fmt(r.recall)}</td><td>${fmt(r.median_lead)}</td></tr>`).join("") + "</tbody>";
  }

  // ---- embedding
  const OPTS = { mode: "vega-lite", renderer: "svg", actions: { export: true, source: false, compiled: false, editor: false } };
  function charts() {
    const list = [];
    if (D.metrics.length) list.push(["curves", curvesSpec]);
    if (D.phase_diagram) {
      list.push(["phase", () => diagramSpec("phase")]);
      list.push(["tgrok", () => diagramSpec("tgrok")]);
    }
    if (D.charges.length) list.push(["noether", noetherSpec]);
    if (D.early_warning) list.push(["ews", ewsSpec]);
    return list;
  }
  let generation = 0;
  function render(which) {
    const mine = ++generation;
    document.documentElement.dataset.rendered = "false";
    const list = charts().filter(([name]) => !which || which.includes(name));
    document.documentElement.dataset.charts = charts().map(([name]) => name).join(",");
    return Promise.all(
      list.map(([name, spec]) => {
        if (views[name]) {
          views[name].finalize();
          delete views[name];
        }
        return vegaEmbed(el("chart-" + name), spec(), OPTS).then((res) => {
          views[name] = res.view;
        });
      })
    ).then(
      () => {
        if (mine === generation) document.documentElement.dataset.rendered = "true";
      },
      (err) => {
        document.documentElement.dataset.rendered = "failed";
        console.error("critlab report: a chart failed to render: " + err);
      }
    );
  }

  // ---- controls
  function setupControls() {
    const metric = el("metric");
    const preferred = ["test_acc", "test_loss", "train_acc"].find((m) => D.metrics.includes(m)) || D.metrics[0];
    if (!state.metric || !D.metrics.includes(state.metric)) state.metric = preferred;
    metric.innerHTML = D.metrics.map((m) => `<option${m === state.metric ? " selected" : ""}>${esc(m)}</option>`).join("");
    const group = el("group");
    group.innerHTML = `<option value="">(none: one line per run)</option>` + D.keys.map((k) => `<option${k === state.group ? " selected" : ""}>${esc(k)}</option>`).join("");
    const cr = chargeRuns();
    if (!cr.includes(state.chargeRun)) state.chargeRun = cr[0];
    el("charge-run").innerHTML = cr.map((r) => `<option value="${r}"${r === state.chargeRun ? " selected" : ""}>run ${r}</option>`).join("");
    if (cr.length) noetherTable();
    if (D.early_warning) ewsTable();
    el("epoch-note").textContent = D.runs.some((r) => r.epoch_per_step === null) ? "runs whose spec gives no epoch length are left out on the epoch axis" : "";
  }
  function bind() {
    const on = (id, ev, f) => el(id).addEventListener(ev, f);
    on("metric", "change", (e) => { state.metric = e.target.value; render(["curves"]); });
    on("xaxis", "change", (e) => { state.x = e.target.value; render(["curves"]); });
    on("xlog", "change", (e) => { state.xlog = e.target.checked; render(["curves"]); });
    on("ylog", "change", (e) => { state.ylog = e.target.checked; render(["curves"]); });
    on("marks", "change", (e) => { state.marks = e.target.checked; render(["curves"]); });
    on("group", "change", (e) => { state.group = e.target.value; render(["curves"]); });
    on("smooth", "input", (e) => { state.smooth = Number(e.target.value); el("smooth-value").textContent = state.smooth.toFixed(2); });
    on("smooth", "change", () => render(["curves"]));
    on("filter", "input", (e) => { state.filter = e.target.value; renderTable(); });
    on("filter", "change", () => render(["curves"]));
    on("charge-run", "change", (e) => { state.chargeRun = Number(e.target.value); noetherTable(); render(["noether"]); });
  }
  function notes() {
    el("notes").innerHTML = D.notes.map((n) => `<li>${esc(n)}</li>`).join("");
    el("meta").textContent = `${D.runs.length} runs from ${D.store} · critlab ${D.critlab_version}`;
    el("section-phase").hidden = !D.phase_diagram;
    el("section-noether").hidden = !D.charges.length;
    el("section-ews").hidden = !D.early_warning;
  }

  // ---- live updates (critlab serve): poll the version, fetch the data when it changes
  function poll() {
    let known = LIVE.version;
    const tick = () =>
      fetch("/api/version", { cache: "no-store" })
        .then((r) => r.json())
        .then((v) => {
          el("live").textContent = `live · checked ${new Date().toLocaleTimeString()}`;
          if (v.version === known) return;
          return fetch("/api/data", { cache: "no-store" }).then((r) => r.json()).then((data) => {
            known = data.live.version;
            D = data;
            notes();
            setupControls();
            renderTable();
            return render();
          });
        })
        .catch((e) => { el("live").textContent = `live · server not answering (${e.message}); retrying`; })
        .finally(() => setTimeout(tick, LIVE.poll_ms));
    setTimeout(tick, LIVE.poll_ms);
  }

  notes();
  setupControls();
  bind();
  renderTable();
  render();
  if (LIVE) poll();
})();
