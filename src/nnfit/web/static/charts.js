// The two charts, made once and then only given new data (uPlot's setData), as nnfit's live
// window updates its artists instead of redrawing the axes: the data as dots with the fit as a
// line (and an ensemble's ±2 std band), and the training and validation loss with the noise floor.
"use strict";

const Charts = {
  fit: null,
  loss: null,
  data: { x: [], y: [] },
  grid: [], // where the fit is drawn
  slots: null, // for each grid point, its index in the merged x
  merged: [],
  yRange: null, // the data's range, padded: fixed while a run plays, so the axes stay still
  losses: { step: [], train: [], val: [], floor: null },

  size(el) {
    return { width: Math.max(300, el.clientWidth - 2), height: 260 };
  },

  makeFit(el) {
    const band = "rgba(31,111,235,0.15)";
    Charts.fit = new uPlot({
      ...Charts.size(el),
      scales: {
        x: { time: false },
        y: { range: (u, lo, hi) => Charts.yRange || [lo, hi] },
      },
      legend: { show: false },
      cursor: { show: false },
      series: [
        {},
        { label: "data", stroke: "#5c6675", paths: () => null, points: { show: true, size: 4, fill: "#5c6675" } },
        { label: "fit", stroke: "#d1242f", width: 2, spanGaps: true, points: { show: false } },
        { label: "high", stroke: band, spanGaps: true, points: { show: false } },
        { label: "low", stroke: band, spanGaps: true, points: { show: false } },
      ],
      bands: [{ series: [3, 4], fill: band }],
    }, [[], [], [], [], []], el);
  },

  makeLoss(el) {
    Charts.loss = new uPlot({
      ...Charts.size(el),
      scales: { x: { time: false }, y: { distr: 3 } },
      legend: { show: true },
      series: [
        { label: "step" },
        { label: "train", stroke: "#1f6feb", width: 2, points: { show: false } },
        { label: "validation", stroke: "#bf8700", width: 2, points: { show: false } },
        { label: "noise floor", stroke: "#8c959f", dash: [6, 4], points: { show: false } },
      ],
    }, [[], [], [], []], el);
  },

  // The loss chart's legend in the page's language.
  relabel() {
    const labels = Charts.loss ? Charts.loss.root.querySelectorAll(".u-legend .u-series .u-label") : [];
    const keys = ["step_counter", "loss_train", "loss_val", "noise_floor"];
    labels.forEach((label, i) => { if (keys[i]) label.textContent = I18N.t(keys[i]); });
  },

  // New data (before training): the dots, nothing fitted yet. ``keep``: an edit on the chart,
  // whose y range stays while every point is inside it (so a point stays under the pointer).
  setData(x, y, keep = false) {
    Charts.data = { x, y };
    const ys = y.filter((v) => v !== null);
    const lo = Math.min(...ys), hi = Math.max(...ys);
    const pad = 0.2 * (hi - lo || Math.abs(hi) || 1);
    const kept = keep && Charts.yRange && Charts.yRange[0] <= lo && hi <= Charts.yRange[1];
    if (!kept) Charts.yRange = ys.length ? [lo - pad, hi + pad] : null;
    Charts.grid = [];
    Charts.merge();
    Charts.drawFit(null, null);
    const box = Charts.fit.root.parentElement.dataset;
    box.points = String(x.length);
    box.y = y.slice(0, 3).map((v) => (v === null ? "" : v.toFixed(4))).join(","); // for tests
  },

  setGrid(grid) {
    Charts.grid = grid;
    Charts.merge();
  },

  // One x axis for dots and fit: the data's x and the grid merged in order.
  merge() {
    const items = [];
    Charts.data.x.forEach((x, i) => items.push([x, 0, i]));
    Charts.grid.forEach((x, i) => items.push([x, 1, i]));
    items.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    Charts.merged = items;
    Charts.slots = new Array(Charts.grid.length);
    items.forEach((item, k) => { if (item[1] === 1) Charts.slots[item[2]] = k; });
  },

  drawFit(fit, std) {
    const n = Charts.merged.length;
    const xs = new Array(n), dots = new Array(n).fill(null);
    const line = new Array(n).fill(null), high = new Array(n).fill(null), low = new Array(n).fill(null);
    Charts.merged.forEach((item, k) => {
      xs[k] = item[0];
      if (item[1] === 0) dots[k] = Charts.data.y[item[2]];
    });
    if (fit) {
      fit.forEach((y, i) => {
        const k = Charts.slots[i];
        line[k] = y;
        if (std && y !== null && std[i] !== null) { high[k] = y + 2 * std[i]; low[k] = y - 2 * std[i]; }
      });
    }
    Charts.fit.setData([xs, dots, line, high, low]);
  },

  resetLoss(floor) {
    Charts.losses = { step: [], train: [], val: [], floor };
    Charts.drawLoss();
  },

  addPoints(points) {
    const tiny = 1e-12; // a log scale has no 0
    for (const [step, train, val] of points) {
      Charts.losses.step.push(step);
      Charts.losses.train.push(train === null ? null : Math.max(train, tiny));
      Charts.losses.val.push(val === null ? null : Math.max(val, tiny));
    }
  },

  drawLoss() {
    const l = Charts.losses;
    const floor = l.floor ? l.step.map(() => l.floor) : l.step.map(() => null);
    Charts.loss.setData([l.step, l.train, l.val, floor]);
    const box = Charts.loss.root.parentElement;
    box.dataset.points = String(l.step.length);
    const trained = l.train.filter((v) => v !== null); // the first and newest training loss
    box.dataset.first = trained.length ? String(trained[0]) : "";
    box.dataset.last = trained.length ? String(trained[trained.length - 1]) : "";
  },
};
