// The page's words: one JSON catalogue per language (i18n/en.json, i18n/zh.json), the same keys
// in both (tests/test_web_page.py checks). Elements name their text by key in a data-i18n attribute.
"use strict";

const I18N = {
  languages: ["en", "zh"],
  lang: "en",
  words: {},
  helps: {}, // each setting's English help, from the settings table (GET /api/settings)

  // The language to start in: the one chosen before, else the browser's, else English.
  initial() {
    const saved = localStorage.getItem("nnfit-lang");
    if (I18N.languages.includes(saved)) return saved;
    const browser = (navigator.language || "en").toLowerCase();
    return browser.startsWith("zh") ? "zh" : "en";
  },

  async load(lang) {
    const answer = await fetch(`/static/i18n/${lang}.json`, { credentials: "same-origin" });
    if (!answer.ok) throw new Error(`catalogue ${lang}: ${answer.status}`);
    I18N.words = await answer.json();
    I18N.lang = lang;
    localStorage.setItem("nnfit-lang", lang);
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    I18N.apply(document);
  },

  // The text of a key with {name} filled from params; the key itself if the catalogue lacks it.
  t(key, params = {}) {
    const text = I18N.words[key];
    if (text === undefined) {
      console.warn(`missing text: ${key}`);
      return key;
    }
    return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
  },

  apply(root) {
    for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = I18N.t(el.dataset.i18n);
    for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = I18N.t(el.dataset.i18nTitle);
    for (const el of root.querySelectorAll("[data-i18n-label]")) el.label = I18N.t(el.dataset.i18nLabel);
    for (const el of root.querySelectorAll("[data-help]")) el.title = I18N.help(el.dataset.help);
  },

  // A setting's hover help: the settings table's English, or the catalogue's help.NAME in
  // another language (zh.json holds one for every setting the page shows; en.json none, so the
  // English is never a second copy that could drift from the table).
  help(name) {
    const key = `help.${name}`;
    if (I18N.lang !== "en" && I18N.words[key] !== undefined) return I18N.words[key];
    return I18N.helps[name] || "";
  },
};
