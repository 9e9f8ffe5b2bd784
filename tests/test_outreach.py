"""Outreach: deep-link payloads, QR codes that decode back, and reach counted without tracking anyone."""

from __future__ import annotations

import csv
import datetime as dt
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from bot import links, outreach
from bot.core import Event
from bot.engine import Engine
from bot.redis_server import RedisServer
from bot.security import pseudonym
from tests.conftest import AVRR, avrr_env, dump_redis

LANGS = ["am", "ar", "en", "es", "fa", "fr", "ru", "sw"]


@given(
    lang=st.sampled_from([None, *LANGS]),
    topic=st.sampled_from([None, *links.CODE_OF]),
    country=st.sampled_from([None, "AF", "IQ", "CD", "ET"]),
    campaign=st.one_of(st.none(), st.from_regex(r"[a-z0-9][a-z0-9-]{0,39}", fullmatch=True)),
)
def test_payloads_round_trip_and_fit_telegram(lang, topic, country, campaign) -> None:
    link = links.Link(lang, topic, country, campaign)
    payload = links.encode(link)
    assert len(payload) <= 64 and all(ch.isalnum() or ch in "_-" for ch in payload)
    assert links.decode(payload, LANGS) == link


@pytest.mark.parametrize("payload", ["", "hello", "2_fa_RI", "1_zz_QQ_1X_UPPER", "1_fa_RI_AF_camp_extra",
                                     "x" * 65, "1_fa_RI_AF_bad campaign", "../../etc", "1____"])
def test_damaged_payloads_never_fail(payload: str) -> None:
    link = links.decode(payload, LANGS)
    assert link.lang in (None, *LANGS) and (link.topic is None or link.topic in links.CODE_OF)


def test_old_payloads_still_work() -> None:
    assert links.decode("fa_reintegration", LANGS) == links.Link(lang="fa", topic="reintegration")
    assert links.decode("sw", LANGS) == links.Link(lang="sw")


async def test_every_payload_field_is_honoured_in_the_first_reply(engine: Engine) -> None:
    payload = links.encode(links.Link("fa", "coi", "AF", "kigoma-2026-11"))
    replies = await engine.handle(Event(user="tg:poster", kind="command", command="start", payload=payload,
                                        client_lang="en"))
    assert all(r.lang == "fa" for r in replies)
    country = engine.content.country("AF")
    assert any(country.returns.text["fa"][:30] in r.text for r in replies), "the country's page opens"
    counters = await engine.store.counters()
    today = dt.date.today().isoformat()
    assert counters[today] == {"kigoma-2026-11|fa|coi|start": 1, "kigoma-2026-11|fa|coi|answer": 1}

    payload = links.encode(links.Link("ar", "reintegration", None, "camp-2"))
    replies = await engine.handle(Event(user="tg:poster2", kind="command", command="start", payload=payload))
    assert replies[-1].title == engine.content.topic("reintegration").texts["ar"].title
    counters = (await engine.store.counters())[today]
    assert counters["camp-2|ar|reintegration|start"] == 1
    assert counters["camp-2|ar|reintegration|answer"] == 1


async def test_counters_hold_no_ids_and_expire(engine: Engine) -> None:
    for i in range(7):
        await engine.handle(Event(user=f"tg:reach{i}", kind="command", command="start", payload="1_fr_RI__c1"))
    stored = await dump_redis(engine.store.redis)
    stats = [(k, ttl, v) for k, ttl, v in stored if k.startswith("avrr:stats:")]
    assert len(stats) == 1 and 390 * 86400 < stats[0][1] <= 400 * 86400
    blob = " ".join(stats[0][2])
    for i in range(7):
        assert pseudonym(engine.settings.secret, f"tg:reach{i}")[:8] not in blob
        assert f"reach{i}" not in blob


def test_small_counts_are_suppressed() -> None:
    counters = {"2026-11-20": {"c1|fa|coi|start": 4, "c1|fa|coi|answer": 1},
                "2026-11-21": {"c1|fa|coi|start": 12, "c1|fa|coi|answer": 5, "c2|en|-|start": 3}}
    table = outreach.table(outreach.rows(counters, campaign="c1"))
    lines = table.splitlines()
    assert lines[1].split()[4:] == ["<5", "<5", "0", "0"]
    assert lines[2].split()[4:] == ["12", "5", "0", "0"]
    assert "c2" not in table
    rows = list(csv.reader(outreach.table(outreach.rows(counters, since=dt.date(2026, 11, 21)), as_csv=True)
                           .splitlines()))
    assert rows[0] == ["day", "campaign", "language", "entry topic", "start", "answer", "booking", "person"]
    assert {tuple(r[:2]) for r in rows[1:]} == {("2026-11-21", "c1"), ("2026-11-21", "c2")}
    assert ["2026-11-21", "c2", "en", "-", "<5", "0", "0", "0"] in rows


def test_link_command_prints_the_link_and_a_qr_that_decodes_back(tmp_path, redis_server: RedisServer) -> None:
    import zxingcpp

    png = tmp_path / "poster.png"
    result = subprocess.run([AVRR, "link", "--lang", "fa", "--topic", "reintegration", "--campaign",
                             "kigoma-2026-11", "--bot", "avrr_bot", "--qr", str(png)],
                            capture_output=True, text=True, timeout=120, env=avrr_env(redis_server.url))
    assert result.returncode == 0, result.stderr[-1500:]
    url = result.stdout.splitlines()[0]
    assert url == "https://t.me/avrr_bot?start=1_fa_RI__kigoma-2026-11"
    assert [r.text for r in zxingcpp.read_barcodes(Image.open(png))] == [url]

    svg = tmp_path / "poster.svg"
    result = subprocess.run([AVRR, "link", "--lang", "am", "--bot", "avrr_bot", "--qr", str(svg), "--caption"],
                            capture_output=True, text=True, timeout=120, env=avrr_env(redis_server.url))
    assert result.returncode == 0, result.stderr[-1500:]
    assert "<text" in svg.read_text(encoding="utf-8") and "<path" in svg.read_text(encoding="utf-8")


def test_link_sheet_makes_one_qr_per_row(tmp_path, redis_server: RedisServer) -> None:
    sheet = tmp_path / "campaign.csv"
    sheet.write_text("lang,topic,country,campaign,name\nfa,reintegration,AF,kigoma-2026-11,fa-poster\n"
                     "sw,eligibility,,kigoma-2026-11,sw-poster\n", encoding="utf-8")
    result = subprocess.run([AVRR, "link", "--sheet", str(sheet), "--out", str(tmp_path / "out"), "--bot", "avrr_bot"],
                            capture_output=True, text=True, timeout=120, env=avrr_env(redis_server.url))
    assert result.returncode == 0, result.stderr[-1500:]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["fa-poster.svg", "sw-poster.svg"]
    assert "start=1_sw_EL__kigoma-2026-11" in result.stdout


def test_bad_link_arguments_get_one_clear_line(redis_server: RedisServer) -> None:
    result = subprocess.run([AVRR, "link", "--campaign", "Kigoma 2026", "--bot", "avrr_bot"], capture_output=True,
                            text=True, timeout=120, env=avrr_env(redis_server.url))
    assert result.returncode == 2 and result.stderr.startswith("avrr: configuration error: a campaign is")


async def test_share_button_carries_the_language_and_nothing_else(engine: Engine) -> None:
    engine.bot_username = "avrr_bot"
    replies = await engine.handle(Event(user="tg:sharer", kind="command", command="menu", client_lang="ru"))
    urls = [b.url for row in replies[0].buttons for b in row if b.url]
    assert len(urls) == 1 and urls[0].startswith("https://t.me/share/url?")
    assert "start%3D1_ru" in urls[0] and "sharer" not in urls[0]
