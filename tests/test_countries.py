"""Country names from CLDR in every language, aliases, and ambiguity."""

from __future__ import annotations

import pytest

from nlu.countries import Gazetteer
from nlu.normalize import normalize

SUPPORTED = ["am", "ar", "en", "es", "fa", "fr", "ru", "sw"]


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer(SUPPORTED)


def codes(g: Gazetteer, text: str) -> list[list[str]]:
    return [sorted(m.codes) for m in g.find(normalize(text))]


@pytest.mark.parametrize(("text", "code"), [
    ("I want to go back to Iraq", "IQ"), ("je suis irakien", "IQ"), ("انا عراقي", "IQ"), ("ana 3iraqi", "IQ"),
    ("вернуться в Ирак", "IQ"), ("برگشت به افغانستان", "AF"), ("ወደ ኢትዮጵያ", "ET"), ("naija", "NG"),
    ("Viet Nam", "VN"), ("nataka kurudi Burundi", "BI"), ("DRC", "CD"), ("RDC", "CD"),
    ("Jamhuri ya Kidemokrasia ya Kongo", "CD"), ("congo brazzaville", "CG"), ("Somalia", "SO"),
    ("Грузия", "GE"), ("Sénégal", "SN"), ("volver a Venezuela", "VE"), ("بالعراق", "IQ"),
])
def test_country_names_and_aliases(gazetteer: Gazetteer, text: str, code: str) -> None:
    assert codes(gazetteer, text)[0] == [code]


@pytest.mark.parametrize("text", ["Congo", "kongo", "je suis congolais", "конго"])
def test_congo_is_ambiguous(gazetteer: Gazetteer, text: str) -> None:
    assert codes(gazetteer, text)[0] == ["CD", "CG"]


def test_longest_name_wins(gazetteer: Gazetteer) -> None:
    assert codes(gazetteer, "south sudan") == [["SS"]]
    assert codes(gazetteer, "Guinea-Bissau") == [["GW"]]


def test_common_words_are_weak(gazetteer: Gazetteer) -> None:
    match = gazetteer.find(normalize("mali yangu iko wapi"))[0]
    assert match.weak and match.codes == frozenset({"ML"})


def test_no_country(gazetteer: Gazetteer) -> None:
    assert gazetteer.find(normalize("how much does the ticket cost")) == []
