/* Draws every <canvas data-chart="ID"> from the JSON in <script id="ID" type="application/json">.
   The same numbers are in the table beside each chart, so the page reads without this script. */
(function () {
  "use strict";
  var palette = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0d9488", "#6b7280"];

  function draw(canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    if (!source || typeof window.Chart === "undefined") { return; }
    var spec = JSON.parse(source.textContent);
    var datasets = spec.datasets.map(function (set, i) {
      var colour = palette[i % palette.length];
      return {label: set.label, data: set.data, borderColor: colour, backgroundColor: colour,
              spanGaps: true, tension: 0.2, pointRadius: spec.kind === "line" ? 3 : 0};
    });
    new window.Chart(canvas, {
      type: spec.kind,
      data: {labels: spec.labels, datasets: datasets},
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        scales: {y: {beginAtZero: true, title: {display: !!spec.y_label, text: spec.y_label}}},
        plugins: {legend: {display: datasets.length > 1}}
      }
    });
  }

  function drawAll() {
    Array.prototype.forEach.call(document.querySelectorAll("canvas[data-chart]"), draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
