"""The playground's form: generated from the settings table, checked as the CLI checks flags."""

import json
import re
from pathlib import Path

import pytest

from nnfit.checks import FieldError, SettingsError
from nnfit.errors import UsageError
from nnfit.runs.config import build_config
from nnfit.settings import table
from nnfit.web.form import (
    NOT_ON_PAGE,
    Caps,
    build_run_config,
    data_defaults,
    form_table,
    frame_every,
)
from nnfit.web.playrun import thinned

STATIC = Path(__file__).parent.parent / "src" / "nnfit" / "web" / "static"


def test_the_form_lists_every_setting_of_the_table_not_set_aside():
    names = [row["name"] for row in form_table()]
    assert names == [row.name for row in table() if row.name not in NOT_ON_PAGE]
    assert set(NOT_ON_PAGE) <= {row.name for row in table()}  # no stale exclusions


def test_the_form_carries_each_settings_help_range_and_choices():
    rows = {row["name"]: row for row in form_table()}
    settings = {row.name: row for row in table()}
    for name, row in rows.items():
        assert row["help"] == settings[name].help
        assert row["group"] == settings[name].group
    assert rows["activation"]["choices"] == list(settings["activation"].choices or ())
    assert rows["lr"]["above"] == 0 and rows["lr"]["kind"] == "number"
    assert rows["hidden"]["kind"] == "widths" and rows["batch_size"]["optional"]
    json.dumps(rows)  # JSON-ready


def test_the_form_defaults_are_the_lessons_run():
    values = {row["name"]: row["default"] for row in form_table()}
    assert build_run_config(values) == build_config()


def test_caps_fold_into_the_ranges_and_refuse_bigger_runs():
    caps = Caps(points=300, steps=500, width=16, layers=2, members=4)
    rows = {row["name"]: row for row in form_table(caps)}
    assert rows["points"]["high"] == 300 and rows["steps"]["high"] == 500
    assert rows["hidden"]["high"] == 16 and rows["hidden"]["max_layers"] == 2
    refused = {
        "points": {"points": 301},
        "steps": {"steps": 501},
        "members": {"members": 5},
    }
    for name, values in refused.items():
        with pytest.raises(FieldError, match=rf"^{name} must be at most") as error:
            build_run_config(values, caps)
        assert error.value.name == name
    for widths in ([17], [4, 4, 4]):
        with pytest.raises(FieldError, match=r"^hidden ") as error:
            build_run_config({"hidden": widths}, caps)
    build_run_config({"points": 300, "steps": 500, "hidden": [16, 16], "members": 4}, caps)


def test_bad_values_get_the_clis_messages_worded_by_setting():
    with pytest.raises(FieldError, match=r"^lr must be a finite number above 0, got 0$"):
        build_run_config({"lr": 0})
    with pytest.raises(FieldError, match=r"^steps must be a whole number"):
        build_run_config({"steps": "abc"})
    with pytest.raises(FieldError, match=r"^activation must be one of relu"):
        build_run_config({"activation": "nope"})
    with pytest.raises(UsageError, match="unknown setting 'device'"):
        build_run_config({"device": "cuda"})
    with pytest.raises(UsageError, match="unknown setting 'bogus'"):
        build_run_config({"bogus": 1})
    with pytest.raises(UsageError):
        build_run_config(["lr", 1])


def test_formulas_go_through_the_safe_parser():
    assert build_run_config({"function": "sin(3*x) + 0.1*x**2"}).data.function
    for formula in ("__import__('os')", "x.__class__", "2**10000", "sin("):
        with pytest.raises(UsageError):
            build_run_config({"function": formula})
    assert build_run_config({"function": "sin(3*x1)*x2"}).data.function  # drawn as a heatmap
    with pytest.raises(SettingsError, match="one or two inputs") as error:
        build_run_config({"function": "x1*x2*x3"})
    assert error.value.names == ("function",)


def test_noise_takes_kind_and_level_as_the_flag_does():
    config = build_run_config({"noise": "gaussian:0.1"})
    assert (config.data.noise, config.data.noise_level) == ("gaussian", 0.1)


def test_frames_are_every_step_for_the_lesson_and_capped_for_long_runs():
    caps = Caps(frames=250)
    assert frame_every(100, caps) == 1
    assert frame_every(250, caps) == 1
    assert frame_every(20_000, caps) == 80
    assert 20_000 / frame_every(20_000, caps) <= 250


def test_thinned_keeps_the_ends_and_at_most_about_the_limit():
    assert thinned(5, 300) == [0, 1, 2, 3, 4]
    rows = thinned(1001, 300)
    assert rows[0] == 0 and rows[-1] == 1000 and len(rows) <= 301
    assert thinned(0) == []


def catalogue(lang):
    return json.loads((STATIC / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))


# Keys only the other languages hold: their English is the server's own (each setting's help
# from the settings table, each refusal's line), never a second copy that could drift.
TRANSLATIONS_ONLY = ("help.", "error.", "form.", "bound.")


def test_the_catalogues_have_the_same_keys_and_no_empty_text():
    en, zh = catalogue("en"), catalogue("zh")
    assert [key for key in en if key.startswith(TRANSLATIONS_ONLY)] == []
    zh_shared = {key for key in zh if not key.startswith(TRANSLATIONS_ONLY)}
    assert sorted(set(en) - zh_shared) == [] and sorted(zh_shared - set(en)) == []
    assert all(isinstance(text, str) and text.strip() for text in [*en.values(), *zh.values()])
    for key in en:  # the same placeholders in both languages (of the keys both have)
        assert set(re.findall(r"\{(\w+)\}", en[key])) == set(re.findall(r"\{(\w+)\}", zh[key]))


def test_every_key_the_page_uses_is_in_the_catalogues():
    en = catalogue("en")
    text = "".join(p.read_text(encoding="utf-8") for p in STATIC.glob("*.*"))
    used = set(re.findall(r'data-i18n(?:-title|-label)?="([\w.]+)"', text))
    used |= set(re.findall(r'(?:I18N\.t|dataset\.i18n(?:Title|Label)?\s*=)\(?\s*"([\w.]+)"', text))
    used |= {f"setting.{row['name']}" for row in form_table()}
    used |= {f"group.{row['group'].split()[0]}" for row in form_table()}
    used |= {"setting.seed", "setting.preset"}  # named by the diagnoses' hints
    from nnfit.core.diagnostics import HINTS, KINDS

    used |= {f"diagnosis.{kind}" for kind in KINDS}
    used |= {f"hint.{h.change or 'set'}" for hints in HINTS.values() for h in hints}
    used |= {f"setting.{h.field}" for hints in HINTS.values() for h in hints}
    zh = catalogue("zh")
    assert sorted(k for k in used - set(en) if not k.startswith(TRANSLATIONS_ONLY)) == []
    assert sorted(k for k in used if k.startswith(TRANSLATIONS_ONLY) and k not in zh) == []
    assert len(used) > 40  # the patterns above do find the page's keys


def test_the_web_package_is_pinned_light_and_documented():
    import subprocess
    import sys

    import nnfit.web

    assert nnfit.web.__all__ == ["MISSING_HINT", "Playground", "make_app", "missing_extra", "serve"]
    heavy = "{'torch', 'fastapi', 'uvicorn'}"
    code = f"import nnfit.web.form, sys; print(sorted({heavy} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert nnfit.web.missing_extra.__doc__ and "nnfit[web]" in nnfit.web.MISSING_HINT


# -- the 中文 page: every setting's help, every refusal worded -----------------------------------


def test_every_setting_on_the_page_has_a_chinese_help_text():
    zh = catalogue("zh")
    names = {row["name"] for row in form_table()}
    helps = {key.removeprefix("help.") for key in zh if key.startswith("help.")}
    assert sorted(names - helps) == [], "add help.NAME to zh.json for these settings"
    assert sorted(helps - names) == [], "zh.json has help for settings the page no longer shows"
    for name in names:  # Chinese, not the English copied
        assert re.search(r"[\u4e00-\u9fff]", zh[f"help.{name}"]), name


def page_key(answer):
    """The catalogue key the page words a refusal with (as static/refusal.js chooses it)."""
    params = answer["params"]
    if answer["code"] != "range":
        return f"error.{answer['code']}"
    if "low" in params and "below" in params:
        return "error.range.low_below"
    if "low" in params and "high" in params:
        return "error.range.low_high"
    return "error.range"


def refusals():
    """Every kind of refusal a page can meet: bad values of each setting (wrong types, out of
    range, past the caps), bad formulas, data of too many inputs, sessions and runs."""
    from nnfit.web.app import current, preview_data, raise_usage
    from nnfit.web.classroom import locked, parse_request
    from nnfit.web.playrun import check_speed
    from nnfit.web.sessions import PlaySession, Sessions

    caps = Caps(points=300, steps=500, width=16, layers=2, members=4)
    tries = ["abc", 1.5, True, [], {"a": 1}, [1, "a"], [0], [17], [1, 1, 1], -1, 0, 1, 10**30]
    found = []

    def attempt(action, *args):
        try:
            action(*args)
        except UsageError as error:
            found.append(error)

    for row in form_table(caps):
        for value in tries:
            attempt(build_run_config, {row["name"]: value}, caps)
    for values in (
        {"function": "sin("},
        {"function": "x1*x2*x3"},
        {"members": "auto"},
        {"bogus": 1},
        {"hidden": [100_001]},
        {"hidden": [1] * 101},
        {"points": 301},
        {"steps": 501},
        {"members": 5},
        {"domain": [2, 1]},
        {"activation": ["relu", "swish2"]},
        {"hidden": [4, 4], "activation": ["relu", "tanh", "relu"]},
    ):
        attempt(build_run_config, values, caps)
    attempt(build_run_config, ["lr", 1], caps)
    attempt(preview_data, PlaySession("p"), {"function": "log(x)"}, caps)
    for name, content in (("t.csv", b""), ("t.npz", b"PK"), ("t.csv", b"a,b\n1,x\n")):
        attempt(Sessions(caps).upload, PlaySession("u"), name, content)  # the reader's lines
    attempt(check_speed, 11)
    attempt(locked, {"lr": 1}, {"lr": 0.5})  # a classroom link's fixed setting
    attempt(parse_request, None, set())
    attempt(parse_request, {"hide": ["bogus"]}, {"lr"})
    attempt(raise_usage, "a setting change is {name, value}")
    attempt(current, PlaySession("s"))
    full = Sessions(max_sessions=1)
    full.create().run = type("Running", (), {"finished": False})()
    attempt(full.create)
    attempt(full.get, "nosuch")
    busy = Sessions(max_runs=0)
    attempt(busy.start, busy.create(), {})
    return found


def test_every_refusal_has_a_code_and_a_chinese_wording():
    from nnfit.web.form import refusal

    zh = catalogue("zh")
    codes = set()
    for error in refusals():
        answer = refusal(error)
        assert answer["error"] == str(error)  # the English line is unchanged
        assert answer["code"], f"no message code for: {error}"
        key = page_key(answer)
        assert key in zh, f"zh.json has no {key} for: {error}"
        given = set(answer["params"]) | {"setting", "value", "form", "bounds"}
        assert set(re.findall(r"\{(\w+)\}", zh[key])) <= given, key
        if answer["code"] == "range":
            assert all(f"bound.{k}" in zh for k in answer["params"] if k != "value")
        if answer["code"] == "type":
            kind = next(r["kind"] for r in form_table() if r["name"] == answer["setting"])
            assert f"form.{kind}" in zh
        codes.add(answer["code"])
    assert len(codes) >= 23  # the enumeration does reach the refusals


def test_an_uploaded_table_is_fitted_with_nnfit_fits_defaults_and_columns_need_one():
    from nnfit.runs.config import DATA_PRESET, build_config

    config = build_run_config({"x": "time", "y": "temp", "steps": 40}, uploaded=True)
    cli = build_config(DATA_PRESET, train={"steps": 40})  # nnfit fit FILE --steps 40
    assert (config.model, config.train) == (cli.model, cli.train)
    assert config.data.val == cli.data.val and config.data.file is None
    with pytest.raises(SettingsError, match="upload one first") as caught:
        build_run_config({"y": "temp"})
    assert caught.value.names == ("y",)
    with pytest.raises(FieldError, match="members"):
        build_run_config({"members": "auto"}, Caps(members=10), uploaded=True)
    rows = {row["name"]: row for row in form_table()}
    assert [name for name, row in rows.items() if row["upload"]] == [
        "x",
        "y",
        "encoding",
        "drop_missing",
    ]
    assert data_defaults()["optimizer"] == "adam" and "file" not in data_defaults()


def test_activation_is_one_name_or_one_per_layer_as_the_cli_takes_it():
    row = next(row for row in form_table() if row["name"] == "activation")
    assert row["kind"] == "activations" and row["default"] == "relu" and "relu" in row["choices"]
    for value in (["relu", "tanh"], "relu,tanh"):  # JSON list, or the comma list of a link
        config = build_run_config({"hidden": [8, 8], "activation": value})
        assert config.model.activations == ("relu", "tanh")
    with pytest.raises(FieldError, match=r"^activation gives 3 names for 2 hidden layers") as error:
        build_run_config({"hidden": [8, 8], "activation": ["relu", "tanh", "relu"]})
    assert error.value.name == "activation"
