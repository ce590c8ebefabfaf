from nnfit.checks import flag
from nnfit.core.diagnostics import Diagnosis, Hint, advice, worded
from nnfit.views.phrasing import phrased

STALLED = (
    Hint("lr", "lower"),
    Hint("seed", "another"),
    Hint("optimizer", value="adam"),
    Hint("hidden", "more", unit="units"),
)


def test_hints_are_worded_by_field_in_the_core_and_by_flag_for_people():
    diagnosis = Diagnosis("stalled", "The loss stalled." + advice(STALLED), "loss stalled", STALLED)
    assert diagnosis.message == (
        "The loss stalled. Try a lower lr, another seed, optimizer adam, or more hidden units."
    )
    assert (
        phrased(diagnosis)
        == worded(diagnosis, flag)
        == (
            "The loss stalled. Try a lower --lr, another --seed, --optimizer adam, "
            "or more --hidden units."
        )
    )


def test_a_suggested_value_is_shown_with_its_flag():
    hints = (Hint("lr", "lower", 0.125),)
    assert advice(hints, flag) == " Try a lower --lr, e.g. --lr 0.125."
    assert advice((Hint("steps", "more"), Hint("lr", "higher")), flag) == (
        " Try more --steps or a higher --lr."
    )


def test_a_diagnosis_from_an_older_run_folder_keeps_its_words():
    old = {"kind": "unfinished", "message": "Still falling. Try more --steps.", "short": "more?"}
    diagnosis = Diagnosis.from_dict(old)
    assert diagnosis.hints == () and phrased(diagnosis) == old["message"]


def test_hints_round_trip_through_a_table():
    from dataclasses import asdict

    diagnosis = Diagnosis("stalled", "Stalled." + advice(STALLED), "stalled", STALLED)
    assert Diagnosis.from_dict(asdict(diagnosis)) == diagnosis
