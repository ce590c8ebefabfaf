// The server's refusals in the page's language. Each comes as {error, setting, code, params}: the
// English page shows the server's own line; another language words the code from its catalogue
// (error.CODE, with the setting's label, the value and the code's numbers), and falls back to the
// English line for a code it does not know. tests/test_web_form.py checks that every refusal the
// form, the caps and the sessions raise has a wording in zh.json.
"use strict";

const Refusal = {
  BOUNDS: ["low", "above", "high", "below"],

  words(data) {
    if (!data || !data.error) return "";
    if (I18N.lang === "en" || !data.code) return data.error;
    const key = Refusal.key(data);
    if (I18N.words[key] === undefined) return data.error;
    return I18N.t(key, Refusal.params(data));
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
