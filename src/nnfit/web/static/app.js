// The playground page: a session with the server, the controls (plain POSTs), and a run's frames
// from its Server-Sent Event stream, drawn at most once per animation frame.
"use strict";

const Page = {
  session: null,
  run: null, // the newest run's id
  state: "idle", // idle, running, paused, done, stopped, failed
  source: null, // the EventSource of the run
  pending: null, // the newest frame not drawn yet
  drawQueued: false,
  result: null,
  stats: { events: 0, draws: 0, first: 0, last: 0 },

  async api(path, body) {
    const options = { method: body === undefined ? "GET" : "POST", credentials: "same-origin" };
    if (body !== undefined) {
      options.headers = { "Content-Type": "application/json" };
      options.body = JSON.stringify(body);
    }
    const answer = await fetch(path, options);
    let data = {};
    try { data = await answer.json(); } catch (e) { data = {}; }
    if (!answer.ok) {
      const error = new Error(Refusal.words(data) || `HTTP ${answer.status}`); // in the page's language
      error.setting = data.setting || null;
      throw error;
    }
    return data;
  },

  url(action) {
    return `/api/sessions/${Page.session}/${action}`;
  },

  say(problem) {
    const box = document.getElementById("error");
    box.hidden = !problem;
    box.textContent = problem || "";
  },

  setState(state) {
    Page.state = state;
    document.body.dataset.state = state;
    const play = document.getElementById("play");
    play.dataset.i18n = state === "running" ? "pause" : "play";
    play.textContent = I18N.t(play.dataset.i18n);
    const status = document.getElementById("status");
    status.dataset.i18n = `state.${state}`;
    status.textContent = I18N.t(status.dataset.i18n);
    Exports.update();
  },

  // A setting changed: the server checks it (with the others); new data is shown at once.
  async change(name, value) {
    try {
      await Page.api(Page.url("setting"), { name, value });
    } catch (error) {
      return error.message;
    }
    Form.values[name] = value;
    history.replaceState(null, "", "/" + Form.fragment()); // a link to this experiment
    const row = Form.rows.find((r) => r.name === name);
    if (row && (row.section === "data" || name === "seed")) {
      if (Page.state !== "idle") await Page.reset(); // the run fits other data: it goes
      await Page.preview();
    }
    return null;
  },

  // Settings that must agree (the layers and their activations), changed and checked together.
  async changeSettings(changes) {
    try {
      await Page.api(Page.url("setting"), { settings: changes });
    } catch (error) {
      return error.message;
    }
    Object.assign(Form.values, changes);
    history.replaceState(null, "", "/" + Form.fragment());
    return null;
  },

  async preview() {
    try {
      const data = await Page.api(Page.url("preview"), Form.values);
      DataBox.draw(data); // the function's points, an upload's or the chart's edits (data.js)
    } catch (error) {
      if (!DataBox.refused(error)) Page.say(error.message);
    }
  },

  async play() {
    if (Page.state === "running") {
      Page.setState((await Page.api(Page.url("pause"), {})).state);
    } else if (Page.state === "paused") {
      Page.setState((await Page.api(Page.url("play"), {})).state);
    } else {
      await Page.start(false);
    }
  },

  async step() {
    if (Page.state === "paused") {
      await Page.api(Page.url("step"), {});
    } else if (Page.state === "running") {
      Page.setState((await Page.api(Page.url("pause"), {})).state);
    } else {
      await Page.start(true);
    }
  },

  // Start a run (with ``race``, {setting, values}: a race of that setting's values; race.js).
  async start(paused, race) {
    try {
      const body = { settings: Form.values, paused };
      if (race) body.race = race;
      const answer = await Page.api(Page.url("start"), body);
      Page.say(null);
      Race.begin(Boolean(race));
      Page.listen(answer.run);
      Page.setState(paused ? "paused" : "running");
    } catch (error) {
      Page.say(error.message);
    }
  },

  async reset() {
    Page.close();
    await Page.api(Page.url("reset"), {});
    Race.end();
    Page.setState("idle");
    document.getElementById("step-count").textContent = "0";
    document.getElementById("result").hidden = true;
    Charts.drawFit(null, null);
    Plane.draw(null);
    Charts.resetLoss(Charts.losses.floor);
  },

  close() {
    if (Page.source) Page.source.close();
    Page.source = null;
  },

  // The run's stream: each event's loss points are kept, its fit drawn on the next frame.
  listen(run) {
    Page.close();
    Page.run = run;
    Page.result = null;
    document.getElementById("result").hidden = true;
    Charts.resetLoss(Charts.losses.floor);
    Page.stats = { events: 0, draws: 0, first: 0, last: 0 };
    const begun = { at: performance.now(), settings: Form.changes() };
    const source = new EventSource(Page.url(`runs/${run}/events`));
    Page.source = source;
    source.addEventListener("frame", (event) => {
      const frame = JSON.parse(event.data);
      const now = performance.now();
      Page.stats.events += 1;
      Page.stats.first = Page.stats.first || now;
      Page.stats.last = now;
      if (frame.info) {
        if (frame.info.grid && Plane.active) Plane.setGrid(frame.info.grid); // a mesh
        else if (frame.info.grid) Charts.setGrid(frame.info.grid);
        if (frame.info.noise_floor !== undefined) Charts.losses.floor = frame.info.noise_floor;
      }
      Charts.addPoints(frame.points);
      if (Race.active) Race.onFrame(frame);
      Page.pending = frame;
      Page.queueDraw();
    });
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED && Page.source === source) Page.setState("stopped");
    });
    source.addEventListener("done", (event) => {
      source.close();
      Page.result = JSON.parse(event.data);
      Page.setState(Page.result.state);
      Page.showResult();
      if (Race.active) Race.onDone(Page.result);
      else if (!Page.result.error) {
        const metrics = Page.result.metrics || {};
        const m = metrics.val || metrics.train || {};
        const seconds = (performance.now() - begun.at) / 1000;
        Runs.add({ n: run, settings: begun.settings, rmse: m.rmse, r2: m.r2, step: Page.result.step, seconds });
      }
      Page.queueDraw();
    });
  },

  queueDraw() {
    if (Page.drawQueued) return;
    Page.drawQueued = true;
    requestAnimationFrame(() => {
      Page.drawQueued = false;
      const frame = Page.pending;
      Page.pending = null;
      if (frame) {
        if (Plane.active) Plane.draw(frame.fit);
        else Charts.drawFit(frame.fit, frame.std);
        document.getElementById("step-count").textContent = String(frame.step);
        if (Page.state === "running" || Page.state === "paused") {
          if (frame.state === "paused" || frame.state === "running") Page.setState(frame.state);
        }
      }
      Charts.drawLoss();
      Race.draw();
      Exports.update();
      Page.stats.draws += 1;
      const body = document.body.dataset;
      body.events = String(Page.stats.events);
      body.draws = String(Page.stats.draws);
      body.eventSpan = String(Math.round(Page.stats.last - Page.stats.first));
    });
  },

  showResult() {
    const result = Page.result;
    const box = document.getElementById("result");
    if (!result || result.race) { box.hidden = true; return; } // a race has its own table
    if (result.error) {
      Page.say(Refusal.words(result)); // a failed run's reason, in the page's language
      return;
    }
    const metrics = (result.metrics && (result.metrics.val || result.metrics.train)) || {};
    const number = (v, digits) => (v === null || v === undefined ? "—" : Number(v).toPrecision(digits));
    document.getElementById("rmse").textContent = number(metrics.rmse, 4);
    document.getElementById("r2").textContent = number(metrics.r2, 4);
    document.getElementById("diagnosis").textContent = Page.diagnosis(result.diagnosis);
    box.hidden = false;
  },

  // The diagnosis in the page's language, from its kind, numbers and hints.
  diagnosis(d) {
    if (!d) return "";
    const fmt = (v) => (v === null || v === undefined ? "—" : Number(v).toPrecision(4));
    const params = {
      loss: fmt(d.loss), floor: fmt(d.floor), step: d.step, dead: d.dead, units: d.units,
      diverged_at: d.diverged_at, best_step: d.best_step,
    };
    const key = `diagnosis.${d.kind}`;
    let text = I18N.words[key] !== undefined ? I18N.t(key, params) : d.message;
    if (d.floor && d.kind !== "diverged" && d.kind !== "interrupted") text += I18N.t("diagnosis.floor", params);
    const hints = (d.hints || []).map((h) => I18N.t(`hint.${h.change || "set"}`, {
      setting: I18N.t(`setting.${h.field}`),
      value: h.value === null || h.value === undefined ? "" : String(h.value),
    }));
    if (hints.length) text += I18N.t("diagnosis.try", { hints: hints.join(I18N.t("list_separator")) });
    return text;
  },

  // A shared link's settings (#lr=0.2&hidden=20,20), each checked by the server as if typed;
  // one it refuses keeps its default and says why under its field.
  async applyLink(hash) {
    for (const [row, value] of Form.fromFragment(hash)) {
      const note = document.querySelector(`.field[data-setting="${row.name}"] .note`);
      try {
        await Page.api(Page.url("setting"), { name: row.name, value });
        Form.show(row, value);
        if (note) note.textContent = "";
      } catch (error) {
        if (note) note.textContent = error.message;
      }
    }
    Form.applyClassroom();
    history.replaceState(null, "", "/" + Form.fragment());
  },

  async setLanguage(lang) {
    await I18N.load(lang);
    document.getElementById("lang").value = lang;
    Charts.relabel();
    Plane.draw(Plane.fit);
    if (Page.state) Page.setState(Page.state);
    Page.showResult();
    Runs.render();
    Race.words();
    Exports.update();
    Refusal.reword(document);
  },

  async init() {
    const query = new URLSearchParams(location.search);
    if (query.has("token") || query.has("class")) {
      history.replaceState(null, "", "/" + location.hash); // the cookie holds it now
    }
    const lang = I18N.initial();
    await I18N.load(lang);
    document.getElementById("lang").value = lang;
    document.getElementById("lang").addEventListener("change", (e) => Page.setLanguage(e.target.value));
    const table = await Page.api("/api/settings");
    const made = await Page.api("/api/sessions", {});
    Page.session = made.session;
    Form.onChange = Page.change;
    Form.onChangeSettings = Page.changeSettings;
    Form.build(table.settings, document.getElementById("form"));
    Race.build(table.race);
    I18N.apply(document);
    Charts.makeFit(document.getElementById("fit-chart"));
    Charts.makeLoss(document.getElementById("loss-chart"));
    Plane.make(document.getElementById("plane-chart"));
    Charts.relabel();
    DataBox.init(table); // uploads and the chart's point edits (data.js)
    document.getElementById("play").addEventListener("click", () => Page.play().catch((e) => Page.say(e.message)));
    document.getElementById("step").addEventListener("click", () => Page.step().catch((e) => Page.say(e.message)));
    document.getElementById("reset").addEventListener("click", () => Page.reset().catch((e) => Page.say(e.message)));
    document.getElementById("speed").addEventListener("change", (e) => {
      Page.api(Page.url("speed"), { speed: Number(e.target.value) }).catch((error) => Page.say(error.message));
    });
    window.addEventListener("pagehide", () => {
      Page.close();
      navigator.sendBeacon(Page.url("close")); // the tab is going: its session and run end
    });
    window.addEventListener("pageshow", (event) => {
      if (event.persisted) location.reload(); // back from the cache: its session has ended
    });
    Page.setState("idle");
    await Page.applyLink(location.hash);
    await Classroom.adopt(made.classroom);
    Classroom.init();
    history.replaceState(null, "", "/" + Form.fragment());
    await Page.preview();
    document.body.dataset.ready = "yes";
  },
};

document.addEventListener("DOMContentLoaded", () => {
  Page.init().catch((error) => Page.say(error.message));
});
