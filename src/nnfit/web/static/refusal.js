// The server's refusals in the page's language. Each comes as {error, setting, code, params}: the
// English page shows the server's own line; another language words the code from its catalogue
// (error.CODE, with the setting's label, the value and the code's numbers), and falls back to the
// English line for a code it does not know; a language switch rewords the refusals shown.
// tests/test_web_form.py checks that every refusal the form, the caps and the sessions raise
// has a wording in zh.json.
"use strict";

const Refusal = {
  BOUNDS: ["low", "above", "high", "below"],

  seen: new Map(), // a line shown → the refusal it words: reworded when the language changes

  words(data) {
    if (!data || !data.error) return "";
    let text = data.error;
    const key = Refusal.key(data);
    if (I18N.lang !== "en" && data.code && I18N.words[key] !== undefined) {
      text = I18N.t(key, Refusal.params(data));
    }
    Refusal.seen.set(text, data);
    if (Refusal.seen.size > 200) Refusal.seen.delete(Refusal.seen.keys().next().value);
    return text;
  },

  // The language changed: every refusal on the page (under a field, or the page's own line)
  // is worded again in the new one.
  reword(root) {
    for (const el of root.querySelectorAll(".note, #error, .problem")) {
      const data = Refusal.seen.get(el.textContent);
      if (data) el.textContent = Refusal.words(data);
    }
  },

  // A range's wording depends on which bounds it has: "from LOW to below B", "from LOW to HIGH",
  // else each bound in turn.
  key(data) {
    if (data.code !== "range") return `error.${data.code}`;
    const p = data.params || {};
    if (p.low !== undefined && p.below !== undefined) return "error.range.low_below";
    if (p.low !== undefined && p.high !== undefined) return "error.range.low_high";
    return "error.range";
  },

  params(data) {
    const p = { ...(data.params || {}) };
    const name = data.setting;
    p.setting = !name ? "" : I18N.words[`setting.${name}`] !== undefined ? I18N.t(`setting.${name}`) : name;
    if (data.code === "type") { // worded by the kind of control the setting has
      const row = (Form.rows || []).find((r) => r.name === name);
      const key = `form.${row ? row.kind : "text"}`;
      if (I18N.words[key] !== undefined) p.form = I18N.t(key);
    }
    if (data.code === "range") {
      p.bounds = Refusal.BOUNDS.filter((k) => p[k] !== undefined)
        .map((k) => I18N.t(`bound.${k}`, p)).join(I18N.t("bound.and"));
    }
    return p;
  },
};
