// Two inputs: the prediction as colours over the x1-x2 plane, the view TensorFlow Playground made
// familiar. A diverging scale (orange, white, blue) fixed to the data's y range colours the
// prediction on the run's coarse mesh and the points on top (training points filled, validation
// points hollow), with a colour legend. Drawn on a <canvas>; the axes and the scale stay still
// while a run plays (each frame repaints the cells and the dots, nothing moves).
"use strict";

const Plane = {
  active: false, // the data has two inputs: this view replaces the fit chart
  el: null,
  canvas: null,
  data: { x: [], y: [], val: [], names: ["x1", "x2"] },
  box: [[-1, 1], [-1, 1]], // x1 and x2 ranges drawn (the data's, padded)
  scale: { lo: -1, mid: 0, hi: 1 }, // the colour scale, from the data's y
  mesh: null, // {x1: [...], x2: [...]}: where a frame's fit is (rows follow x2)
  fit: null, // the newest fit drawn, for redraws (language, resize)
  frames: 0,
  LOW: [245, 147, 34], // orange
  MID: [240, 241, 242],
  HIGH: [8, 119, 189], // blue
  MARGIN: { left: 48, right: 92, top: 12, bottom: 40 },

  make(el) {
    Plane.el = el;
    Plane.canvas = document.createElement("canvas");
    el.append(Plane.canvas);
  },

  // Show the plane for two-input data (true), or the line chart for one input (false).
  use(data) {
    Plane.active = data.inputs === 2;
    Plane.el.hidden = !Plane.active;
    document.getElementById("fit-chart").hidden = Plane.active;
    if (Plane.active) Plane.setData(data);
    return Plane.active;
  },

  // New data (before training): the points, the box and the colour scale; nothing fitted yet.
  setData(data) {
    Plane.data = { x: data.x, y: data.y, val: data.val || [], names: data.names || ["x1", "x2"] };
    Plane.box = (data.box || [[-1, 1], [-1, 1]]).map(([lo, hi]) => {
      const pad = 0.04 * (hi - lo || 1);
      return [lo - pad, hi + pad];
    });
    const ys = data.y.filter((v) => v !== null);
    let lo = ys.length ? Math.min(...ys) : -1, hi = ys.length ? Math.max(...ys) : 1;
    if (lo === hi) { lo -= 1; hi += 1; }
    const mid = lo < 0 && hi > 0 ? 0 : (lo + hi) / 2;
    Plane.scale = { lo, mid, hi };
    Plane.mesh = null;
    Plane.draw(null);
    Plane.el.dataset.points = String(data.x.length);
    Plane.el.dataset.val = String(Plane.data.val.filter(Boolean).length);
  },

  setGrid(mesh) {
    Plane.mesh = mesh;
  },

  // A value's colour: orange below the middle of the scale, blue above, white at it.
  colour(v) {
    const { lo, mid, hi } = Plane.scale;
    let t = v < mid ? -(mid - v) / (mid - lo || 1) : (v - mid) / (hi - mid || 1);
    t = Math.max(-1, Math.min(1, t));
    const end = t < 0 ? Plane.LOW : Plane.HIGH;
    const a = Math.abs(t);
    const c = Plane.MID.map((m, i) => Math.round(m + (end[i] - m) * a));
    return `rgb(${c[0]},${c[1]},${c[2]})`;
  },

  // The canvas sized to its box (sharp on high-density screens); the plot area in CSS pixels.
  resize() {
    const width = Math.max(320, Plane.el.clientWidth - 2);
    const m = Plane.MARGIN;
    const side = Math.max(160, Math.min(width - m.left - m.right, 420));
    const height = side + m.top + m.bottom;
    const ratio = window.devicePixelRatio || 1;
    if (Plane.canvas.width !== Math.round(width * ratio) || Plane.canvas.height !== Math.round(height * ratio)) {
      Plane.canvas.width = Math.round(width * ratio);
      Plane.canvas.height = Math.round(height * ratio);
      Plane.canvas.style.width = `${width}px`;
      Plane.canvas.style.height = `${height}px`;
    }
    const ctx = Plane.canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    return { ctx, width, height, area: { x: m.left, y: m.top, w: side, h: side } };
  },

  // From data coordinates to the canvas (x2 grows upwards).
  place(area, a, b) {
    const [[a0, a1], [b0, b1]] = Plane.box;
    return [area.x + ((a - a0) / (a1 - a0)) * area.w, area.y + area.h - ((b - b0) / (b1 - b0)) * area.h];
  },

  // Cell edges of an axis' values: halfway between neighbours, the ends at the first and last.
  edges(values) {
    const out = [values[0]];
    for (let i = 1; i < values.length; i += 1) out.push((values[i - 1] + values[i]) / 2);
    out.push(values[values.length - 1]);
    return out;
  },

  draw(fit) {
    if (!Plane.canvas || !Plane.active) return;
    Plane.fit = fit;
    const { ctx, width, height, area } = Plane.resize();
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = "#fafbfc";
    ctx.fillRect(area.x, area.y, area.w, area.h);
    if (fit && Plane.mesh && Plane.mesh.x1.length && fit.length === Plane.mesh.x1.length * Plane.mesh.x2.length) {
      Plane.cells(ctx, area, fit);
      Plane.frames += 1;
      Plane.el.dataset.frames = String(Plane.frames);
    }
    Plane.dots(ctx, area);
    Plane.axes(ctx, area);
    Plane.legend(ctx, area);
    Plane.el.dataset.heat = fit ? "yes" : "no";
  },

  cells(ctx, area, fit) {
    const e1 = Plane.edges(Plane.mesh.x1), e2 = Plane.edges(Plane.mesh.x2);
    const n1 = Plane.mesh.x1.length;
    ctx.save();
    ctx.beginPath();
    ctx.rect(area.x, area.y, area.w, area.h);
    ctx.clip();
    for (let r = 0; r < Plane.mesh.x2.length; r += 1) {
      for (let c = 0; c < n1; c += 1) {
        const v = fit[r * n1 + c];
        if (v === null) continue;
        const [xa, ya] = Plane.place(area, e1[c], e2[r + 1]);
        const [xb, yb] = Plane.place(area, e1[c + 1], e2[r]);
        ctx.fillStyle = Plane.colour(v);
        ctx.fillRect(xa, ya, xb - xa + 0.6, yb - ya + 0.6); // overlap: no seams between cells
      }
    }
    ctx.restore();
  },

  // The points, coloured by their y on the same scale: training filled, validation hollow.
  dots(ctx, area) {
    const { x, y, val } = Plane.data;
    ctx.lineWidth = 1;
    x.forEach(([a, b], i) => {
      if (a === null || b === null || y[i] === null) return;
      const [px, py] = Plane.place(area, a, b);
      ctx.beginPath();
      ctx.arc(px, py, 3.5, 0, 2 * Math.PI);
      if (val[i]) {
        ctx.lineWidth = 2.2;
        ctx.strokeStyle = Plane.colour(y[i]);
        ctx.stroke();
        ctx.lineWidth = 0.8;
        ctx.strokeStyle = "#1d2430";
        ctx.beginPath();
        ctx.arc(px, py, 4.8, 0, 2 * Math.PI);
        ctx.stroke();
      } else {
        ctx.fillStyle = Plane.colour(y[i]);
        ctx.fill();
        ctx.lineWidth = 1;
        ctx.strokeStyle = "#1d2430";
        ctx.stroke();
      }
    });
  },

  // Round ticks: about four steps of 1, 2 or 5 times a power of ten, as [value, label].
  ticks(lo, hi) {
    const raw = (hi - lo) / 4 || 1;
    const power = 10 ** Math.floor(Math.log10(raw));
    const step = [1, 2, 5, 10].find((m) => m * power >= raw) * power;
    const digits = Math.max(0, -Math.floor(Math.log10(step)));
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
      out.push([v, (Math.abs(v) < step / 2 ? 0 : v).toFixed(digits)]);
    }
    return out;
  },

  label(v) {
    return Math.abs(v) < 1e-9 ? "0" : Number(v.toPrecision(2)).toString();
  },

  axes(ctx, area) {
    ctx.strokeStyle = "#8c959f";
    ctx.lineWidth = 1;
    ctx.strokeRect(area.x, area.y, area.w, area.h);
    ctx.fillStyle = "#5c6675";
    ctx.font = "12px system-ui, sans-serif";
    const [[a0, a1], [b0, b1]] = Plane.box;
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    for (const [a, text] of Plane.ticks(a0, a1)) {
      const [px] = Plane.place(area, a, b0);
      ctx.fillText(text, px, area.y + area.h + 4);
    }
    ctx.fillText(Plane.data.names[0], area.x + area.w / 2, area.y + area.h + 20);
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (const [b, text] of Plane.ticks(b0, b1)) {
      const [, py] = Plane.place(area, a0, b);
      ctx.fillText(text, area.x - 5, py);
    }
    ctx.save();
    ctx.translate(12, area.y + area.h / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = "center";
    ctx.fillText(Plane.data.names[1], 0, 0);
    ctx.restore();
  },

  // The colour legend: a bar from the scale's low to its high end, beside the plane.
  legend(ctx, area) {
    const x = area.x + area.w + 18, w = 14, top = area.y + 18, h = area.h - 36;
    const { lo, mid, hi } = Plane.scale;
    for (let k = 0; k < h; k += 1) {
      const v = hi - ((hi - lo) * k) / (h - 1);
      ctx.fillStyle = Plane.colour(v);
      ctx.fillRect(x, top + k, w, 1.5);
    }
    ctx.strokeStyle = "#8c959f";
    ctx.strokeRect(x, top, w, h);
    ctx.fillStyle = "#5c6675";
    ctx.font = "12px system-ui, sans-serif";
    ctx.textAlign = "left";
    ctx.textBaseline = "middle";
    ctx.fillText(Plane.label(hi), x + w + 4, top);
    ctx.fillText(Plane.label(mid), x + w + 4, top + (h * (hi - mid)) / (hi - lo || 1));
    ctx.fillText(Plane.label(lo), x + w + 4, top + h);
    ctx.textAlign = "center";
    ctx.textBaseline = "bottom";
    ctx.fillText(I18N.t("plane.legend"), x + w / 2, area.y + 12);
  },
};
