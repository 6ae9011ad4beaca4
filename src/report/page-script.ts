// The script a report page runs in the browser: it draws every chart of the embedded model with
// uPlot and, on a dashboard page, redraws them when the server sends a new model. Plain ES2020 in a
// string, inlined into the page, so a report opens offline with no build step in the browser.
//
// Versions are told apart by dash pattern and point shape as well as colour, and every chart has a
// legend with the version names, so the charts are readable without colour.

export const PAGE_SCRIPT = `
(function () {
  "use strict";
  var COLOURS = ["#1f5fa8", "#c2571a", "#2e7d32", "#7b1fa2", "#b8860b", "#00838f"];
  var DASHES = [[], [8, 4], [2, 3], [12, 4, 2, 4], [4, 4], [1, 6]];
  var charts = {};
  window.__iter8 = { charts: charts, render: render, updates: 0 };

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function seriesFor(chart) {
    var s = [{ label: "iteration" }];
    chart.lines.forEach(function (line, i) {
      s.push({
        label: line.label,
        stroke: COLOURS[i % COLOURS.length],
        dash: DASHES[i % DASHES.length],
        width: 2,
        spanGaps: true,
        points: { show: true, size: 6 + (i % 3) * 2 },
      });
    });
    chart.bands.forEach(function (band) {
      var i = chart.lines.findIndex(function (l) { return l.label === band.label; });
      var colour = COLOURS[(i < 0 ? 0 : i) % COLOURS.length];
      s.push({ label: band.label + " upper bound", stroke: colour, width: 1, dash: [1, 3], spanGaps: true });
      s.push({ label: band.label + " lower bound", stroke: colour, width: 1, dash: [1, 3], spanGaps: true });
    });
    if (chart.limit) {
      s.push({ label: "limit (" + (chart.limit.kind === "upper" ? "<= " : ">= ") + chart.limit.value + ")",
               stroke: "#444", width: 2, dash: [6, 2, 1, 2] });
    }
    return s;
  }

  function dataFor(chart, xs) {
    var d = [xs];
    chart.lines.forEach(function (l) { d.push(l.values); });
    chart.bands.forEach(function (b) { d.push(b.upper); d.push(b.lower); });
    if (chart.limit) d.push(xs.map(function () { return chart.limit.value; }));
    return d;
  }

  function bandsFor(chart) {
    var first = 1 + chart.lines.length;
    return chart.bands.map(function (b, k) {
      return { series: [first + 2 * k, first + 2 * k + 1], fill: "rgba(120,120,120,0.15)" };
    });
  }

  function widthOf(node) { return Math.max(280, Math.min(node.clientWidth || 600, 1100)); }

  function draw(chart, xs) {
    var holder = document.getElementById("chart-" + chart.id);
    if (!holder) return;
    var existing = charts[chart.id];
    var data = dataFor(chart, xs);
    if (existing && existing.series === chart.lines.length + 2 * chart.bands.length + (chart.limit ? 1 : 0)) {
      existing.plot.setData(data);
    } else {
      if (existing) existing.plot.destroy();
      holder.textContent = "";
      var opts = {
        width: widthOf(holder), height: 260, series: seriesFor(chart), bands: bandsFor(chart),
        scales: chart.id === "weights" ? { x: { time: false }, y: { range: [0, 100] } } : { x: { time: false } },
        legend: { live: false },
        axes: [{ label: "iteration", incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] }, { label: chart.unit }],
      };
      charts[chart.id] = { plot: new uPlot(opts, data, holder), series: data.length - 1 };
    }
    charts[chart.id].points = xs.length;
  }

  function allCharts(model) { return [model.weights, model.requests].concat(model.objectives); }

  function render(model) {
    allCharts(model).forEach(function (c) { draw(c, model.iterations); });
    var verdict = document.getElementById("verdict");
    if (verdict) verdict.textContent = model.verdict;
    var stage = document.getElementById("stage");
    if (stage) stage.textContent = model.stage;
    var updated = document.getElementById("updated");
    if (updated) updated.textContent = model.generatedAt;
    var describe = document.getElementById("describe");
    if (describe) describe.textContent = model.describe;
    fillTimeline(model.timeline);
    fillTables(model);
  }

  function fillTimeline(entries) {
    var body = document.getElementById("timeline-body");
    if (!body) return;
    body.textContent = "";
    entries.forEach(function (t) {
      var tr = el("tr");
      tr.appendChild(el("td", {}, t.time));
      tr.appendChild(el("td", {}, t.what));
      var td = el("td");
      if (t.detail) td.appendChild(el("pre", {}, t.detail));
      tr.appendChild(td);
      body.appendChild(tr);
    });
  }

  function fillTables(model) {
    allCharts(model).forEach(function (chart) {
      var table = document.getElementById("table-" + chart.id);
      if (!table) return;
      table.textContent = "";
      var head = el("tr");
      head.appendChild(el("th", { scope: "col" }, "iteration"));
      chart.lines.forEach(function (l) { head.appendChild(el("th", { scope: "col" }, l.label)); });
      table.appendChild(head);
      model.iterations.forEach(function (x, i) {
        var tr = el("tr");
        tr.appendChild(el("td", {}, String(x)));
        chart.lines.forEach(function (l) {
          var v = l.values[i];
          tr.appendChild(el("td", {}, v === null || v === undefined ? "-" : String(+v.toPrecision(6))));
        });
        table.appendChild(tr);
      });
    });
  }

  function connect(url) {
    var source = new EventSource(url);
    source.addEventListener("model", function (ev) {
      render(JSON.parse(ev.data));
      window.__iter8.updates++;
    });
  }

  var model = JSON.parse(document.getElementById("report-data").textContent);
  render(model);
  var live = document.body.getAttribute("data-events");
  if (live) connect(live);
  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (id) {
      var holder = document.getElementById("chart-" + id);
      if (holder) charts[id].plot.setSize({ width: widthOf(holder), height: 260 });
    });
  });
})();
`;
