// The settings form, generated from the server's settings table (GET /api/settings): one control
// per setting by its kind, grouped as the CLI's help groups them. Values go to the server as JSON
// and are checked there, with the CLI's rules and messages; the page only shows what it says.
"use strict";

const MAIN_GROUPS = ["data (synthetic)", "model", "training"];
const FIRST = ["function", "noise", "noise_level", "points", "val", "hidden", "activation", "members",
  "optimizer", "lr", "batch_size", "steps", "target_r2"]; // shown open; the rest under "more settings"

// Formulas of two inputs offered beside the built-in functions (the TensorFlow Playground view).
const PLANE_EXAMPLES = ["x1*x2", "exp(-4*(x1**2 + x2**2))", "sin(3*x1)*x2", "x1**2 - x2**2"];

const Form = {
  rows: [],
  values: {},
  classroom: { hide: [], fix: [] }, // a classroom link's hidden and fixed settings
  onChange: null, // (name, value) => Promise<void>

  build(rows, root) {
    Form.rows = rows;
    root.textContent = "";
    const groups = new Map();
    for (const row of rows) {
      Form.values[row.name] = row.default;
      I18N.helps[row.name] = row.help;
      if (row.upload) continue; // an upload's column choice: shown with the upload (data.js)
      const group = row.group.startsWith("data") ? "data (synthetic)" : row.group;
      if (!groups.has(group)) groups.set(group, { main: [], more: [] });
      groups.get(group)[FIRST.includes(row.name) ? "main" : "more"].push(row);
    }
    for (const name of [...MAIN_GROUPS, ...[...groups.keys()].filter((g) => !MAIN_GROUPS.includes(g))]) {
      const parts = groups.get(name);
      if (!parts) continue;
      const set = document.createElement("fieldset");
      const legend = document.createElement("legend");
      legend.dataset.i18n = `group.${name.split(" ")[0]}`;
      set.append(legend);
      for (const row of parts.main) set.append(Form.field(row));
      if (name === MAIN_GROUPS[0]) {  // new noise (and weights): the next seed
        const again = Form.button("", "regenerate_help", () => Form.regenerate());
        again.id = "regenerate";
        again.dataset.i18n = "regenerate";
        set.append(again);
      }
      if (parts.more.length) {
        const more = document.createElement("details");
        const summary = document.createElement("summary");
        summary.dataset.i18n = "more_settings";
        more.append(summary);
        for (const row of parts.more) more.append(Form.field(row));
        set.append(more);
      }
      root.append(set);
    }
  },

  field(row) {
    const box = document.createElement("div");
    box.className = "field";
    box.dataset.setting = row.name;
    const label = document.createElement("label");
    label.dataset.i18n = `setting.${row.name}`;
    label.dataset.help = row.name; // its title: the help in the page's language (I18N.apply)
    const id = `setting-${row.name}`;
    label.htmlFor = id;
    box.append(label);
    const control = Form.control(row, id);
    box.append(control);
    const note = document.createElement("span");
    note.className = "note";
    box.append(note);
    return box;
  },

  control(row, id) {
    if (row.kind === "widths") return Form.layers(row, id);
    if (row.kind === "activations") return Form.activationControl(row, id);
    if (row.name === "function") return Form.functionBox(row, id);
    let el;
    if (row.kind === "choice") {
      el = document.createElement("select");
      for (const choice of row.choices) el.append(new Option(choice, choice));
      el.value = row.default;
    } else if (row.kind === "bool") {
      el = document.createElement("input");
      el.type = "checkbox";
      el.checked = Boolean(row.default);
    } else {
      el = document.createElement("input");
      el.type = ["whole", "number"].includes(row.kind) ? "number" : "text";
      if (el.type === "number") {
        el.step = row.kind === "whole" ? "1" : "any";
        const low = row.low ?? row.above;
        if (low !== null && low !== undefined) el.min = String(low);
        if (row.high !== null && row.high !== undefined) el.max = String(row.high);
      }
      el.value = Form.shown(row.default);
      if (row.optional) el.placeholder = "—";
    }
    el.id = id;
    el.dataset.help = row.name;
    el.addEventListener("change", () => Form.changed(row, Form.read(row, el)));
    return el;
  },

  // The built-in functions, or "formula…" with a box for one (checked by nnfit's safe parser).
  functionBox(row, id) {
    const wrap = document.createElement("div");
    const select = document.createElement("select");
    select.id = id;
    for (const choice of row.choices) select.append(new Option(choice, choice));
    const plane = document.createElement("optgroup"); // two inputs: drawn as a heatmap
    plane.dataset.i18nLabel = "two_inputs";
    for (const formula of PLANE_EXAMPLES) plane.append(new Option(formula, formula));
    select.append(plane);
    const own = new Option("", "__formula__");
    own.dataset.i18n = "formula_choice";
    select.append(own);
    const box = document.createElement("input");
    box.type = "text";
    box.className = "formula";
    box.id = "formula";
    box.placeholder = "sin(3*x) + 0.1*x**2";
    box.hidden = true;
    select.value = row.choices.includes(row.default) ? row.default : "__formula__";
    select.addEventListener("change", () => {
      box.hidden = select.value !== "__formula__";
      if (box.hidden) Form.changed(row, select.value);
      else box.focus();
    });
    box.addEventListener("change", () => Form.changed(row, box.value.trim()));
    wrap.append(select, box);
    return wrap;
  },

  // Layers and neurons: one box per hidden layer with − and +, and − / + for the layers.
  layers(row, id) {
    const wrap = document.createElement("div");
    wrap.className = "layers";
    wrap.id = id;
    const draw = () => {
      wrap.textContent = "";
      const widths = Form.values.hidden;
      widths.forEach((width, i) => {
        const layer = document.createElement("span");
        layer.className = "layer";
        const less = Form.button("−", "fewer_neurons", () => set(i, Math.max(1, width - 1)));
        less.className = "fewer";
        const out = document.createElement("output");
        out.textContent = String(width);
        out.className = "width";
        const more = Form.button("+", "more_neurons", () => set(i, Math.min(row.high, width + 1)));
        more.className = "more";
        layer.append(less, out, more);
        wrap.append(layer);
      });
      const fewer = Form.button("", "fewer_layers", () => widths.length > 1 && commit(widths.slice(0, -1)));
      const more = Form.button("", "more_layers", () => widths.length < row.max_layers && commit([...widths, widths[widths.length - 1]]));
      fewer.dataset.i18n = "layer_remove";
      fewer.className = "remove-layer";
      more.dataset.i18n = "layer_add";
      more.className = "add-layer";
      wrap.append(fewer, more);
      Form.drawLayerActivations(wrap);
      I18N.apply(wrap);
    };
    const set = (i, width) => commit(Form.values.hidden.map((w, j) => (j === i ? width : w)));
    const commit = (widths) => Form.changeLayers(row, widths).then(draw);
    Form.redrawLayers = () => { draw(); Form.applyClassroom(); };
    draw();
    return wrap;
  },

  // New data of the same kind: the next seed (which also starts the weights afresh).
  regenerate() {
    const row = Form.rows.find((r) => r.name === "seed");
    const seed = Number(Form.values.seed) + 1;
    Form.show(row, seed);
    return Form.changed(row, seed);
  },

  button(text, titleKey, action) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.dataset.i18nTitle = titleKey;
    b.addEventListener("click", action);
    return b;
  },

  shown(value) {
    if (value === null || value === undefined) return "";
    return Array.isArray(value) ? value.join(",") : String(value);
  },

  // A control's value as JSON: numbers where they parse, else the text (the server words it).
  read(row, el) {
    return row.kind === "bool" ? el.checked : Form.parse(row, el.value);
  },

  // A setting typed as text (a control's, or the address's) as JSON.
  parse(row, raw) {
    if (row.kind === "bool") return raw === "true" || raw === "on";
    const text = raw.trim();
    if (text === "" && row.optional) return null;
    if (row.kind === "whole") return /^[+-]?\d+$/.test(text) ? Number(text) : text;
    if (row.kind === "number") return text !== "" && Number.isFinite(Number(text)) ? Number(text) : text;
    if (row.kind === "members") return /^\d+$/.test(text) ? Number(text) : text;
    if (row.kind === "widths") return /^\d+(,\d+)*$/.test(text) ? text.split(",").map(Number) : text;
    if (row.kind === "activations") return text.includes(",") ? text.split(",").map((p) => p.trim()) : text;
    if (row.kind === "pair") {
      const parts = text.split(",").map((p) => Number(p.trim()));
      return parts.length === 2 && parts.every(Number.isFinite) ? parts : text;
    }
    return text;
  },

  // Show a value in its control (a shared link's, or a regenerated seed).
  show(row, value) {
    Form.values[row.name] = value;
    if (row.kind === "widths") { Form.redrawLayers(); return; }
    if (row.kind === "activations") { Form.showActivations(); return; }
    const el = document.getElementById(`setting-${row.name}`);
    if (!el) return;
    if (row.name === "function") {
      const own = !row.choices.includes(value) && !PLANE_EXAMPLES.includes(value);
      el.value = own ? "__formula__" : value;
      const box = document.getElementById("formula");
      box.hidden = !own;
      box.value = own ? value : "";
    } else if (row.kind === "bool") {
      el.checked = Boolean(value);
    } else {
      el.value = Form.shown(value);
    }
  },

  // A classroom link's choices: its hidden settings vanish, its fixed ones cannot change.
  applyClassroom() {
    for (const box of document.querySelectorAll(".field[data-setting]")) {
      const name = box.dataset.setting;
      box.hidden = Form.classroom.hide.includes(name);
      const fixed = Form.classroom.fix.includes(name);
      for (const control of box.querySelectorAll("input, select, button")) control.disabled = fixed;
    }
    const again = document.getElementById("regenerate");
    if (again) again.disabled = Form.classroom.fix.includes("seed");
    Form.activationClassroom();
  },

  // The settings that differ from the defaults, as an address fragment: #lr=0.2&hidden=20,20.
  fragment() {
    const params = new URLSearchParams();
    for (const row of Form.rows) {
      const value = Form.values[row.name];
      if (row.upload) continue; // a reload does not see the upload, so not its columns either
      if (JSON.stringify(value) !== JSON.stringify(row.default)) params.set(row.name, Form.shown(value));
    }
    for (const key of ["hide", "fix"]) {
      if (Form.classroom[key].length) params.set(key, Form.classroom[key].join(","));
    }
    const text = params.toString();
    return text ? `#${text}` : "";
  },

  // What differs from the defaults, in words: "lr 0.2, hidden 20,20" ("" for none).
  changes() {
    return Form.rows
      .filter((row) => JSON.stringify(Form.values[row.name]) !== JSON.stringify(row.default))
      .map((row) => `${row.name} ${Form.shown(Form.values[row.name])}`)
      .join(", ");
  },

  // The settings a fragment names, parsed by their kinds (unknown names are left out).
  fromFragment(hash) {
    const out = [];
    const params = new URLSearchParams(hash.replace(/^#/, ""));
    for (const key of ["hide", "fix"]) {
      const names = (params.get(key) || "").split(",");
      Form.classroom[key] = names.filter((name) => Form.rows.some((r) => r.name === name));
    }
    for (const [name, text] of params) {
      const row = Form.rows.find((r) => r.name === name);
      if (row) out.push([row, Form.parse(row, text)]);
    }
    return out;
  },

  async changed(row, value) {
    const box = document.querySelector(`.field[data-setting="${row.name}"] .note`);
    const problem = await Form.onChange(row.name, value);
    if (box) box.textContent = problem || "";
    if (!problem) Form.values[row.name] = value;
  },
};

// ----- One activation per hidden layer -----
// A chooser next to each layer's neurons, and the "activation" field choosing one for every
// layer. The setting's value is one name (every layer's) or a list of one name per layer, as
// `--activation relu,tanh` gives; the server checks it against the layers.
Object.assign(Form, {
  onChangeSettings: null, // (changes) => Promise<problem or null>: several checked together

  // Each hidden layer's activation, input side first.
  layerActivations() {
    const value = Form.values.activation;
    return Array.isArray(value) ? value.slice() : Form.values.hidden.map(() => value);
  },

  // The setting's value for these names: one name when every layer has the same.
  activationValue(names) {
    return names.every((name) => name === names[0]) ? names[0] : names;
  },

  // The "activation" field: one name for every layer; it reads "per layer" when they differ.
  activationControl(row, id) {
    const el = document.createElement("select");
    for (const choice of row.choices) el.append(new Option(choice, choice));
    const mixed = new Option("", "");
    mixed.dataset.i18n = "activation_per_layer";
    mixed.disabled = true;
    el.append(mixed);
    el.id = id;
    el.title = row.help;
    el.value = row.default;
    el.addEventListener("change", () => Form.changed(row, el.value).then(Form.showActivations));
    return el;
  },

  // Show the setting in the "activation" field and the layers' choosers.
  showActivations() {
    const el = document.getElementById("setting-activation");
    const value = Form.values.activation;
    if (el) el.value = Array.isArray(value) ? "" : value;
    if (Form.redrawLayers) Form.redrawLayers();
  },

  // Next to each layer's neurons (the layers' draw calls this), a chooser of its activation.
  drawLayerActivations(wrap) {
    const row = Form.rows.find((r) => r.name === "activation");
    if (!row) return;
    const names = Form.layerActivations();
    wrap.querySelectorAll(".layer").forEach((layer, i) => {
      const select = document.createElement("select");
      select.className = "layer-activation";
      select.dataset.i18nTitle = "layer_activation";
      for (const choice of row.choices) select.append(new Option(choice, choice));
      select.value = names[i];
      select.addEventListener("change", () => {
        const next = Form.layerActivations();
        next[i] = select.value;
        Form.changed(row, Form.activationValue(next)).then(Form.showActivations);
      });
      layer.append(select);
    });
  },

  // New widths; with one activation per layer, the list grows (a new layer takes the last
  // one's) or shrinks with them, both changed in one request, checked together.
  async changeLayers(row, widths) {
    if (!Array.isArray(Form.values.activation)) return Form.changed(row, widths);
    const names = Form.layerActivations();
    while (names.length < widths.length) names.push(names[names.length - 1]);
    names.length = widths.length;
    const changes = { hidden: widths, activation: Form.activationValue(names) };
    const problem = await Form.onChangeSettings(changes);
    const box = document.querySelector('.field[data-setting="hidden"] .note');
    if (box) box.textContent = problem || "";
    if (!problem) {
      Object.assign(Form.values, changes);
      Form.showActivations();
    }
  },

  // A classroom link's activation: hidden or fixed, so are the layers' choosers.
  activationClassroom() {
    for (const select of document.querySelectorAll(".layer-activation")) {
      select.hidden = Form.classroom.hide.includes("activation");
      select.disabled = Form.classroom.fix.includes("activation");
    }
  },
});
