// Downloads of the current run: its animation (GIF), the current frame (PNG), the model as a run
// folder (zip) and the settings (TOML), all made by the server with nnfit's own writers. Plain
// same-origin links with a download attribute; each is offered only when the run can give it
// (the server refuses the rest with a sentence, shown as the link's title).
"use strict";

const Exports = {
  kinds: ["gif", "png", "zip", "toml"],

  // Why a download is not offered now (an i18n key), or null when it is.
  unavailable(kind) {
    const state = Page.state;
    if (Page.run === null || state === "idle") return "export.no_run";
    if (kind === "toml") return null;
    if (state === "failed") return "export.failed";
    if (kind === "zip" && Race.active) return "export.race_zip";
    const ended = state === "done" || state === "stopped";
    if ((kind === "gif" || kind === "zip") && !ended) return "export.when_ended";
    if (kind === "png" && Charts.losses.step.length === 0) return "export.no_frame";
    return null;
  },

  // Point each link at the current run's download, or take it away and say why.
  update() {
    for (const kind of Exports.kinds) {
      const link = document.getElementById(`export-${kind}`);
      if (!link) continue;
      const why = Exports.unavailable(kind);
      if (why) {
        link.removeAttribute("href");
        link.setAttribute("aria-disabled", "true");
        link.dataset.i18nTitle = why;
        link.title = I18N.t(why);
      } else {
        link.href = Page.url(`runs/${Page.run}/export/${kind}`);
        link.removeAttribute("aria-disabled");
        link.dataset.i18nTitle = `export.${kind}_title`;
        link.title = I18N.t(link.dataset.i18nTitle);
      }
    }
  },
};
