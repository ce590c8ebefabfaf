// The runs of this tab, compared in a table: what each changed from the defaults, its RMSE, R²,
// the step it ended at and how long it played. Kept in the page (a reload starts afresh).
"use strict";

const Runs = {
  list: [],

  add(entry) {
    Runs.list.push(entry);
    Runs.render();
  },

  render() {
    const section = document.getElementById("runs");
    const body = document.querySelector("#runs-table tbody");
    body.textContent = "";
    for (const run of Runs.list) {
      const row = document.createElement("tr");
      const cells = [
        String(run.n),
        run.settings || I18N.t("runs.defaults"),
        run.rmse === null || run.rmse === undefined ? "—" : Number(run.rmse).toPrecision(4),
        run.r2 === null || run.r2 === undefined ? "—" : Number(run.r2).toPrecision(4),
        String(run.step),
        `${run.seconds.toFixed(1)} s`,
      ];
      for (const text of cells) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.append(cell);
      }
      body.append(row);
    }
    section.hidden = Runs.list.length === 0;
  },
};
