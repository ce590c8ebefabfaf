// A race on the page: two or more variants of one setting (optimizer sgd,adam; lr 0.5,0.1)
// trained by the server's race engine from the same weights on one step clock. The run streams
// as any run does; each frame also carries every lane's fit (frame.fits) and each points row
// every lane's loss ([step, leader, null, lane 1, lane 2, ...]). Drawn in two charts of its own,
// each variant in the colour the CLI's pictures give it, with a legend; the end shows the
// race's table and its winner.
"use strict";

const Race = {
  active: false,
  offer: null, // from /api/settings: settings a race can vary, the most variants, presets
  lanes: [],
  colours: [],
  fit: null,
  loss: null,
  losses: null, // [steps, lane 1's losses, ...]
  fits: null,
  result: null, // the finished race's table

  // The race control: a setting, its values, Race, and the lesson's optimiser race.
  build(offer) {
    Race.offer = offer;
    const select = document.getElementById("race-setting");
    for (const name of offer.settings) {
      const option = document.createElement("option");
      option.value = name;
      option.dataset.i18n = `setting.${name}`;
      select.appendChild(option);
    }
    select.value = "optimizer";
    document.getElementById("race-values").value = "sgd,adam";
    document.getElementById("race-start").addEventListener("click", () => Race.start().catch((e) => Page.say(e.message)));
    document.getElementById("race-preset").addEventListener("click", () => Race.preset("morvan-optimizers").catch((e) => Page.say(e.message)));
  },

  // The lesson's optimiser race: its settings into the form (each checked by the server), then race.
  async preset(name) {
    const preset = Race.offer.presets[name];
    for (const [setting, value] of Object.entries(preset.settings)) {
      const row = Form.rows.find((r) => r.name === setting);
      if (!row) continue;
      const problem = await Page.change(setting, value);
      if (problem) throw new Error(problem);
      Form.show(row, value);
    }
    document.getElementById("race-setting").value = preset.setting;
    document.getElementById("race-values").value = preset.values;
    await Race.start();
  },

  async start() {
    const race = {
      setting: document.getElementById("race-setting").value,
      values: document.getElementById("race-values").value,
    };
    await Page.start(false, race);
  },

  // A run began: a race shows its own charts; any other run hides them.
  begin(isRace) {
    Race.active = isRace;
    document.body.dataset.mode = isRace ? "race" : "run";
    document.getElementById("race-view").hidden = !isRace;
    document.getElementById("race-result").hidden = true;
    Race.lanes = [];
    Race.result = null;
  },

  end() {
    Race.begin(false);
  },

  // The race's first frame names the lanes: make its charts and legend for them.
  setLanes(lanes, colours) {
    Race.lanes = lanes;
    Race.colours = colours;
    Race.losses = [[], ...lanes.map(() => [])];
    Race.fits = null;
    const legend = document.getElementById("race-legend");
    legend.textContent = "";
    lanes.forEach((name, i) => {
      const item = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = colours[i]; // CSSOM, which the CSP allows (not a style attribute)
      item.append(swatch, document.createTextNode(name));
      legend.appendChild(item);
    });
    Race.makeCharts();
  },

  makeCharts() {
    for (const chart of [Race.fit, Race.loss]) if (chart) chart.destroy();
    const lines = Race.lanes.map((name, i) => ({ label: name, stroke: Race.colours[i], width: 2, spanGaps: true, points: { show: false } }));
    const fitEl = document.getElementById("race-fit-chart");
    Race.fit = new uPlot({
      ...Charts.size(fitEl),
      scales: { x: { time: false }, y: { range: (u, lo, hi) => Charts.yRange || [lo, hi] } },
      legend: { show: false },
      cursor: { show: false },
      series: [{}, { label: "data", stroke: "#5c6675", paths: () => null, points: { show: true, size: 4, fill: "#5c6675" } }, ...lines],
    }, [[], [], ...Race.lanes.map(() => [])], fitEl);
    const lossEl = document.getElementById("race-loss-chart");
    Race.loss = new uPlot({
      ...Charts.size(lossEl),
      scales: { x: { time: false }, y: { distr: 3 } },
      legend: { show: true },
      series: [
        { label: I18N.t("step_counter") }, ...lines,
        { label: I18N.t("noise_floor"), stroke: "#8c959f", dash: [6, 4], points: { show: false } },
      ],
    }, [[], ...Race.lanes.map(() => []), []], lossEl);
  },

  // A frame of the race's stream: keep every lane's losses and the newest fits.
  onFrame(frame) {
    if (frame.info && frame.info.lanes) Race.setLanes(frame.info.lanes, frame.info.colours);
    if (!Race.lanes.length) return;
    const tiny = 1e-12; // a log scale has no 0
    for (const row of frame.points) {
      Race.losses[0].push(row[0]);
      Race.lanes.forEach((_, i) => {
        const v = row[3 + i];
        Race.losses[1 + i].push(v === null || v === undefined ? null : Math.max(v, tiny));
      });
    }
    if (frame.fits) Race.fits = frame.fits;
  },

  // Drawn once per animation frame, with the page's other charts.
  draw() {
    if (!Race.active || !Race.fit) return;
    const n = Charts.merged.length;
    const xs = new Array(n), dots = new Array(n).fill(null);
    const lines = Race.lanes.map(() => new Array(n).fill(null));
    Charts.merged.forEach((item, k) => {
      xs[k] = item[0];
      if (item[1] === 0) dots[k] = Charts.data.y[item[2]];
    });
    if (Race.fits) {
      Race.fits.forEach((fit, lane) => fit.forEach((y, i) => { lines[lane][Charts.slots[i]] = y; }));
    }
    Race.fit.setData([xs, dots, ...lines]);
    const floor = Charts.losses.floor; // the data's noise floor, as the run's loss chart has it
    Race.loss.setData([...Race.losses, Race.losses[0].map(() => floor || null)]);
    document.getElementById("race-loss-chart").dataset.points = String(Race.losses[0].length);
  },

  // The race's end: each variant's final loss, steps to the target loss, verdict, time; the winner.
  onDone(result) {
    const race = result.race;
    if (!race) return;
    const fmt = (v) => (v === null || v === undefined ? "—" : Number(v).toPrecision(4));
    const body = document.querySelector("#race-table tbody");
    body.textContent = "";
    race.lanes.forEach((lane, i) => {
      const row = document.createElement("tr");
      if (lane.name === race.winner) row.className = "winner";
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = Race.colours[i];
      const verdict = `outcome.${lane.outcome}`;
      const cells = [
        lane.name, fmt(lane.loss),
        lane.steps_to === null ? I18N.t("race.never") : String(lane.steps_to),
        I18N.words[verdict] !== undefined ? I18N.t(verdict) : lane.outcome,
        Number(lane.seconds).toFixed(2),
      ];
      cells.forEach((text, k) => {
        const cell = document.createElement("td");
        if (k === 0) cell.appendChild(swatch);
        cell.appendChild(document.createTextNode(text));
        row.appendChild(cell);
      });
      body.appendChild(row);
    });
    Race.result = race;
    Race.words();
    document.getElementById("race-result").hidden = false;
  },

  // The table's caption and the winner's line in the page's language.
  words() {
    const race = Race.result;
    if (!race) return;
    const target = Number(race.target).toPrecision(3);
    document.getElementById("race-target").textContent = I18N.t("race.target", { target, near: race.near });
    const winner = race.lanes.find((lane) => lane.name === race.winner);
    document.getElementById("race-winner").textContent = winner
      ? I18N.t("race.winner", { name: winner.name, target, step: winner.steps_to })
      : I18N.t("race.no_winner", { target });
  },
};
