/* Charts for the web pages, drawn with the vendored Chart.js (vendor/chartjs).
   Data comes from <script type="application/json"> blocks written by the server, so no
   inline script is needed and the Content-Security-Policy stays strict. */
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  var BEIJING_MS = 8 * 3600 * 1000;
  function hhmm(ms) {
    var d = new Date(ms + BEIJING_MS);
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return two(d.getUTCHours()) + ":" + two(d.getUTCMinutes()) + ":" + two(d.getUTCSeconds());
  }
  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  Chart.defaults.font.size = 13;
  Chart.defaults.color = "#1a1a1a";
  Chart.defaults.animation = false;

  var readings = data("readings-data");
  if (readings) {
    var L = readings.labels;
    readings.channels.forEach(function (ch) {
      var canvas = document.getElementById("chart-" + ch.channel);
      if (!canvas) { return; }
      var xs = ch.points.map(function (p) { return p[0]; })
        .concat(ch.tests.map(function (p) { return p[0]; }))
        .concat(ch.alarms.map(function (a) { return a.x; }));
      var xmin = Math.min.apply(null, xs), xmax = Math.max.apply(null, xs);
      var datasets = [
        { type: "line", label: L.readings + " " + ch.channel, data: ch.points.map(function (p) { return { x: p[0], y: p[1] }; }),
          borderColor: "#0b5cad", backgroundColor: "#0b5cad", pointRadius: 1.5, borderWidth: 2 },
        { type: "scatter", label: L.tests, data: ch.tests.map(function (p) { return { x: p[0], y: p[1] }; }),
          borderColor: "#1b6e20", backgroundColor: "#1b6e20", pointRadius: 4 }
      ];
      ch.limits.forEach(function (lim) {
        datasets.push({ type: "line", label: L.limit + " " + lim.value + " (" + lim.code + ")",
          data: [{ x: xmin, y: lim.value }, { x: xmax, y: lim.value }],
          borderColor: "#b3261e", borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0 });
      });
      if (ch.alarms.length) {
        datasets.push({ type: "scatter", label: L.alarm,
          data: ch.alarms.map(function (a) { return { x: a.x, y: a.y, label: a.label }; }),
          borderColor: "#b3261e", backgroundColor: "#b3261e", pointStyle: "triangle", pointRadius: 9 });
      }
      new Chart(canvas, {
        data: { datasets: datasets },
        options: {
          responsive: true, maintainAspectRatio: false, parsing: true,
          scales: {
            x: { type: "linear", ticks: { callback: function (v) { return hhmm(v); }, maxTicksLimit: 6 } },
            y: { title: { display: true, text: ch.unit }, beginAtZero: ch.channel !== "O2", grace: "10%" }
          },
          plugins: {
            legend: { position: "bottom" },
            tooltip: { callbacks: {
              title: function (items) { return items.length ? hhmm(items[0].parsed.x) : ""; },
              label: function (item) {
                var raw = item.raw || {};
                return (raw.label ? raw.label + ": " : item.dataset.label + ": ") + item.parsed.y + " " + ch.unit;
              } } }
          }
        }
      });
    });
  }

  var hz = data("hazards-data");
  var hzCanvas = document.getElementById("hazards-chart");
  if (hz && hzCanvas) {
    new Chart(hzCanvas, {
      type: "line",
      data: { labels: hz.series.map(function (s) { return s.date.slice(5); }),
        datasets: [{ label: hz.label, data: hz.series.map(function (s) { return s.open; }),
          borderColor: "#b3261e", backgroundColor: "rgba(179,38,30,0.15)", fill: true, stepped: true, pointRadius: 2 }] },
      options: { responsive: true, maintainAspectRatio: false,
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { display: false } } }
    });
  }
})();
