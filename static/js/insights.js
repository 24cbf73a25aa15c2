// Draws the insights charts: every <canvas data-chart='{json}'> on load and after htmx swaps.
// The numbers are also in the table beneath each chart, so the chart only adds the picture.
(function () {
  "use strict";

  const PALETTE = ["#0d6efd", "#fd7e14", "#198754", "#6f42c1", "#d63384", "#20c997", "#6c757d", "#b58900", "#dc3545", "#0dcaf0"];
  // Lines differ by dash and point shape as well as colour.
  const DASHES = [[], [6, 3], [2, 2], [8, 3, 2, 3]];
  const POINTS = ["circle", "rect", "triangle", "rectRot", "rectRounded"];

  function draw(canvas) {
    if (typeof Chart === "undefined" || Chart.getChart(canvas)) return;
    let spec;
    try {
      spec = JSON.parse(canvas.dataset.chart);
    } catch (err) {
      return;
    }
    const line = spec.kind === "line";
    const stacked = spec.kind === "stacked-bar";
    const dense = spec.labels.length > 45;
    const datasets = spec.series.map((s, i) => {
      const colour = PALETTE[i % PALETTE.length];
      return {
        label: s.name,
        data: s.values,
        hrefs: s.hrefs || null,
        borderColor: colour,
        backgroundColor: line ? colour : colour + "cc",
        borderWidth: line ? 2 : 0,
        borderDash: line ? DASHES[i % DASHES.length] : undefined,
        pointStyle: POINTS[i % POINTS.length],
        pointRadius: line ? (dense ? 0 : 2.5) : undefined,
        pointHitRadius: 8,
        tension: 0.2,
        spanGaps: true,
      };
    });
    const hrefAt = (elements) => {
      if (!elements.length) return null;
      const { datasetIndex, index } = elements[0];
      const hrefs = datasets[datasetIndex].hrefs;
      return hrefs ? hrefs[index] : null;
    };
    new Chart(canvas, {
      type: line ? "line" : "bar",
      data: { labels: spec.labels, datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "nearest", axis: "x", intersect: !line },
        scales: {
          x: { stacked, ticks: { autoSkip: true, maxRotation: 0, font: { size: 11 } }, grid: { display: false } },
          y: {
            stacked,
            beginAtZero: true,
            ticks: { precision: 0, font: { size: 11 } },
            title: { display: Boolean(spec.unit), text: spec.unit, font: { size: 11 } },
          },
        },
        plugins: {
          legend: { display: spec.series.length > 1, position: "bottom", labels: { usePointStyle: true, boxHeight: 8, font: { size: 11 } } },
          tooltip: { callbacks: { footer: (items) => (items.length && hrefAt([items[0]]) ? "Click to see the records" : "") } },
        },
        onHover(evt, elements) {
          evt.native.target.style.cursor = hrefAt(elements) ? "pointer" : "default";
        },
        onClick(evt, elements) {
          const href = hrefAt(elements);
          if (href) window.location.assign(href);
        },
      },
    });
    canvas.dataset.drawn = "true";
  }

  function drawAll(root) {
    (root || document).querySelectorAll("canvas[data-chart]").forEach(draw);
  }

  function destroyAll(root) {
    if (typeof Chart === "undefined" || !root || !root.querySelectorAll) return;
    root.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
      const chart = Chart.getChart(canvas);
      if (chart) chart.destroy();
    });
  }

  document.addEventListener("DOMContentLoaded", () => drawAll(document));
  document.addEventListener("htmx:afterSettle", () => drawAll(document));
  document.addEventListener("htmx:historyRestore", () => drawAll(document));
  // Charts about to be replaced let go of their resize observers; the snapshot htmx keeps for
  // the back button holds blank canvases that are drawn again on restore.
  document.addEventListener("htmx:beforeSwap", (evt) => destroyAll(evt.detail.target));
  document.addEventListener("htmx:beforeHistorySave", () => destroyAll(document));
  window.helpdeskInsights = { drawAll };
})();
