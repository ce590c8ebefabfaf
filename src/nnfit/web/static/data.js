// The data a session fits, beyond the function: a table uploaded from this computer (file input or
// dropped on the chart), read on the server by nnfit's own reader, with its x and y columns chosen
// here; and points added, moved or deleted on the fit chart. The server keeps both for the session
// and answers with the data itself, so what is drawn is exactly what a run fits.
"use strict";

const DataBox = {
  upload: null, // {name, columns} while the session fits an uploaded table
  file: null, // the File chosen last: sent again when the encoding changes after a refusal
  kind: "function", // function, upload or edited (what the server answered last)
  inputs: 1, // x columns of the data: one is drawn as dots on the chart, and can be edited
  fixed: false, // a classroom link fixed the data: no upload, no edits (the server refuses them)
  caps: {},
  lessonDefaults: {},
  dataDefaults: {}, // the settings nnfit fit FILE changes from the lesson's (real-data preset)
  drag: null, // {index, moved} while a point is dragged
  edits: 0, // edits the server has answered (the chart's data-edits, for tests)

  init(table) {
    DataBox.caps = table.caps;
    DataBox.dataDefaults = table.data_defaults || {};
    for (const row of Form.rows) DataBox.lessonDefaults[row.name] = row.default;
    const input = document.getElementById("upload-file");
    input.addEventListener("change", () => input.files[0] && DataBox.send(input.files[0]));
    for (const target of [document.getElementById("fit-chart"), document.getElementById("data-box")]) {
      target.addEventListener("dragover", (e) => { e.preventDefault(); target.classList.add("dropping"); });
      target.addEventListener("dragleave", () => target.classList.remove("dropping"));
      target.addEventListener("drop", (e) => {
        e.preventDefault();
        target.classList.remove("dropping");
        const file = e.dataTransfer && e.dataTransfer.files[0];
        if (file) DataBox.send(file);
      });
    }
    document.getElementById("upload-remove").addEventListener("click", () => DataBox.remove());
    document.getElementById("points-reset").addEventListener("click", () => DataBox.edit({ action: "reset" }));
    document.getElementById("upload-x").addEventListener("change", (e) => {
      const chosen = [...e.target.selectedOptions].map((o) => o.value);
      DataBox.choose("x", chosen.length ? chosen.join(",") : null);
    });
    document.getElementById("upload-y").addEventListener("change", (e) => DataBox.choose("y", e.target.value || null));
    document.getElementById("upload-drop-missing").addEventListener("change", (e) => DataBox.choose("drop_missing", e.target.checked));
    document.getElementById("upload-encoding").addEventListener("change", (e) => {
      const encoding = e.target.value.trim() || null;
      if (!DataBox.upload && DataBox.file) {  // refused before: read it again in this encoding
        Form.values.encoding = encoding;
        Page.api(Page.url("setting"), { name: "encoding", value: encoding })
          .then(() => DataBox.send(DataBox.file), (error) => DataBox.note(error.message));
      } else {
        DataBox.choose("encoding", encoding);
      }
    });
    for (const kind of ["dragover", "drop"]) {  // a file dropped beside the targets: not opened
      window.addEventListener(kind, (e) => e.preventDefault());
    }
    DataBox.bindChart(Charts.fit);
  },

  note(text) {
    const box = document.getElementById("upload-problem");
    box.textContent = text || "";
  },

  // Send a file as the request body; the server refuses what its reader cannot read, in one line.
  async send(file) {
    DataBox.file = file;
    if (file.size > DataBox.caps.upload_bytes) {
      DataBox.note(I18N.t("upload.too_big", { bytes: DataBox.caps.upload_bytes.toLocaleString() }));
      return;
    }
    const answer = await fetch(Page.url(`upload?name=${encodeURIComponent(file.name)}`), {
      method: "POST", body: file, credentials: "same-origin", headers: { "Content-Type": "text/csv" },
    });
    let data = {};
    try { data = await answer.json(); } catch (e) { data = {}; }
    if (!answer.ok) {
      DataBox.note(data.error || `HTTP ${answer.status}`);
      return;
    }
    DataBox.note("");
    if (Page.state !== "idle") await Page.reset(); // the run fits other data: it goes
    const first = !DataBox.upload;
    DataBox.upload = data;
    Form.values.x = null; // a new table: the CLI's choice (x first, y second of two columns)
    Form.values.y = null;
    DataBox.fillColumns(data.columns);
    if (first) DataBox.useDefaults(true);
    await Page.preview();
  },

  async remove() {
    await Page.api(Page.url("upload/remove"), {});
    DataBox.upload = null;
    DataBox.file = null;
    document.getElementById("upload-file").value = "";
    Form.values.x = null;
    Form.values.y = null;
    DataBox.note("");
    DataBox.useDefaults(false);
    if (Page.state !== "idle") await Page.reset();
    await Page.preview();
  },

  // A column choice (or encoding, drop_missing) is a setting as any other: checked, then drawn.
  async choose(name, value) {
    const problem = await Page.change(name, value);
    if (problem) DataBox.note(problem);
  },

  // With a table, the form shows nnfit fit FILE's defaults (its preset for real data) where the
  // user has not changed a setting; without one, the lesson's again.
  useDefaults(real) {
    for (const row of Form.rows) {
      const lesson = DataBox.lessonDefaults[row.name];
      const next = real && row.name in DataBox.dataDefaults ? DataBox.dataDefaults[row.name] : lesson;
      if (JSON.stringify(next) === JSON.stringify(row.default)) continue;
      const untouched = JSON.stringify(Form.values[row.name]) === JSON.stringify(row.default);
      row.default = next;
      if (untouched) Form.show(row, next);
    }
  },

  fillColumns(columns) {
    for (const id of ["upload-x", "upload-y"]) {
      const select = document.getElementById(id);
      select.textContent = "";
      if (id === "upload-y") {
        const none = new Option("", "");
        none.dataset.i18n = "upload.choose_column";
        select.append(none);
      }
      for (const name of columns) select.append(new Option(name, name));
      I18N.apply(select);
    }
  },

  // The server's answer to a preview or an edit: what it is, and the columns it chose.
  shown(data) {
    DataBox.kind = data.kind;
    DataBox.inputs = data.n_inputs;
    DataBox.note("");
    DataBox.showUpload(data.kind);
    if (DataBox.upload) {
      for (const o of document.getElementById("upload-x").options) o.selected = data.x_names.includes(o.value);
      document.getElementById("upload-y").value = data.y_names[0] || "";
    }
    document.getElementById("fit-chart").dataset.kind = data.kind;
    document.getElementById("chart-hint").hidden = data.n_inputs !== 1 || DataBox.fixed;
  },

  // The upload's name (or "edited"), its columns and the buttons that undo.
  showUpload(kind) {
    const upload = Boolean(DataBox.upload);
    document.body.dataset.data = upload ? "upload" : "function"; // the function's fields step aside
    document.getElementById("columns").hidden = !upload;
    document.getElementById("upload-remove").hidden = !upload;
    document.getElementById("points-reset").hidden = kind !== "edited";
    const label = document.getElementById("data-kind");
    label.dataset.kind = kind;
    if (kind === "edited") label.dataset.i18n = "points.edited"; // follows a language switch
    else delete label.dataset.i18n;
    label.textContent = kind === "edited" ? I18N.t("points.edited") : upload ? DataBox.upload.name : "";
  },

  // A preview the server refused: a column choice to make or fix is said here, under the columns.
  refused(error) {
    if (!DataBox.upload) return false;
    DataBox.showUpload("upload");
    DataBox.note(error.message);
    Charts.setData([], []); // nothing to draw until the choice reads
    return true;
  },

  // -- points on the chart: click to add, drag to move, right-click or shift-click to delete ----
  // (pointer events: a mouse, a pen or a finger)

  bindChart(u) {
    const over = u.over;
    const at = (e) => {
      const box = over.getBoundingClientRect();
      return { left: e.clientX - box.left, top: e.clientY - box.top };
    };
    over.addEventListener("contextmenu", (e) => {
      e.preventDefault();
      const i = DataBox.nearest(u, at(e));
      if (i !== null) DataBox.edit({ action: "delete", index: i });
    });
    over.addEventListener("pointerdown", (e) => {
      if (e.button !== 0 || !DataBox.editable()) return;
      const pos = at(e);
      const i = DataBox.nearest(u, pos);
      if (i !== null && e.shiftKey) { DataBox.edit({ action: "delete", index: i }); return; }
      if (i === null) {
        DataBox.edit({ action: "add", x: u.posToVal(pos.left, "x"), y: u.posToVal(pos.top, "y") });
        return;
      }
      DataBox.drag = { index: i, moved: false };
      e.preventDefault();
    });
    window.addEventListener("pointermove", (e) => {
      const drag = DataBox.drag;
      if (!drag) return;
      const pos = at(e);
      drag.moved = true;
      drag.x = u.posToVal(pos.left, "x");
      drag.y = u.posToVal(pos.top, "y");
      Charts.data.x[drag.index] = drag.x; // drawn at once; the server has the last word on release
      Charts.data.y[drag.index] = drag.y;
      Charts.merge();
      Charts.drawFit(null, null);
    });
    window.addEventListener("pointerup", () => {
      const drag = DataBox.drag;
      DataBox.drag = null;
      if (drag && drag.moved) DataBox.edit({ action: "move", index: drag.index, x: drag.x, y: drag.y });
    });
  },

  editable() {
    return DataBox.inputs === 1 && !DataBox.fixed;
  },

  // The data point within 8 pixels of pos (the nearest), or null.
  nearest(u, pos) {
    let best = null, bestDistance = 64;
    Charts.data.x.forEach((x, i) => {
      const y = Charts.data.y[i];
      if (x === null || y === null) return;
      const dx = u.valToPos(x, "x") - pos.left, dy = u.valToPos(y, "y") - pos.top;
      const distance = dx * dx + dy * dy;
      if (distance <= bestDistance) { best = i; bestDistance = distance; }
    });
    return best;
  },

  // One edit, kept by the server as the session's own data; the answer is the data to draw.
  async edit(change) {
    try {
      const data = await Page.api(Page.url("points"), change);
      if (Page.state !== "idle") await Page.reset(); // the run fitted the old points
      DataBox.draw(data, true);
      DataBox.edits += 1;
      document.getElementById("fit-chart").dataset.edits = String(DataBox.edits);
    } catch (error) {
      Page.say(error.message);
      await Page.preview(); // back to what the server holds
    }
  },

  draw(data, edit = false) {
    DataBox.shown(data);
    if (!Plane.use(data)) Charts.setData(data.x, data.y, edit); // two inputs: the plane (plane.js)
    Charts.resetLoss(data.noise_floor);
    Page.say(null);
  },
};
