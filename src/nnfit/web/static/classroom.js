// Classroom links. A teacher ticks which settings to hide and which to fix, and the server signs
// that choice with the current values (POST /api/classroom): the link /?class=CODE#... lets
// students in without the server's token, and the server keeps their sessions to the choice
// (a changed fixed setting is refused there, not only disabled here). A student's page hears
// the choice when its session is made and hides and disables those fields.
"use strict";

const Classroom = {
  choice: null, // the link's {values, hide, fix} when this page was opened through one

  // The session's answer: a classroom link's choice is applied; a teacher gets the link maker.
  async adopt(choice) {
    Classroom.choice = choice;
    const maker = document.getElementById("classroom");
    maker.hidden = Boolean(choice);
    if (!choice) {
      Classroom.build();
      return;
    }
    Form.classroom = { hide: choice.hide, fix: choice.fix };
    if (choice.fixes_data) { // the teacher chose these points: no upload, no edits
      DataBox.fixed = true;
      document.getElementById("data-box").hidden = true;
      document.getElementById("chart-hint").hidden = true;
    }
    for (const name of [...choice.hide, ...choice.fix]) {
      const row = Form.rows.find((r) => r.name === name);
      if (!row) continue;
      const value = name in choice.values ? choice.values[name] : row.default;
      Form.values[name] = value;
      Form.show(row, value);
    }
    for (const [name, value] of Object.entries(choice.values)) {
      const row = Form.rows.find((r) => r.name === name);
      if (row && !(name in Form.values && JSON.stringify(Form.values[name]) === JSON.stringify(value))) {
        Form.values[name] = value;
        Form.show(row, value);
      }
    }
    Form.applyClassroom();
  },

  // The teacher's table: a row per setting with "hide" and "fix" boxes.
  build() {
    const body = document.querySelector("#classroom-table tbody");
    body.textContent = "";
    for (const row of Form.rows) {
      if (row.upload) continue; // a link does not carry an upload, nor its columns
      const line = document.createElement("tr");
      line.dataset.setting = row.name;
      const name = document.createElement("td");
      name.dataset.i18n = `setting.${row.name}`;
      line.append(name);
      for (const key of ["hide", "fix"]) {
        const cell = document.createElement("td");
        const box = document.createElement("input");
        box.type = "checkbox";
        box.className = key;
        box.checked = Form.classroom[key].includes(row.name);
        cell.append(box);
        line.append(cell);
      }
      body.append(line);
    }
    I18N.apply(body);
  },

  // Ask the server to sign the choice and show the link (with the experiment in its fragment).
  async make() {
    const hide = [], fix = [];
    for (const line of document.querySelectorAll("#classroom-table tbody tr")) {
      if (line.querySelector(".hide").checked) hide.push(line.dataset.setting);
      if (line.querySelector(".fix").checked) fix.push(line.dataset.setting);
    }
    const answer = await Page.api("/api/classroom", { values: Form.values, hide, fix });
    Form.classroom = { hide, fix };
    const link = `${location.origin}/?class=${answer.code}${Form.fragment()}`;
    Form.classroom = { hide: [], fix: [] }; // the teacher's own page stays open
    const out = document.getElementById("classroom-url");
    out.value = link;
    out.hidden = false;
    out.select();
    if (navigator.clipboard) navigator.clipboard.writeText(link).catch(() => {});
    return link;
  },

  init() {
    document.getElementById("classroom-make").addEventListener("click", () => {
      Classroom.make().then(() => Page.say(null)).catch((error) => Page.say(error.message));
    });
  },
};
