"""The command line end to end: a scripted console chat and `avrr route --jsonl`, as subprocesses."""

from __future__ import annotations

import json
import subprocess

from bot.redis_server import RedisServer
from tests.conftest import AVRR, avrr_env


def test_scripted_console_conversation(redis_server: RedisServer) -> None:
    script = "\n".join([
        "3",  # the language picker after the welcome: English
        "is it free",  # a typed question
        "1",  # the first button under the answer
        "/language",
        "Français",  # not a number: typed text, so the NLU reads it
        "/forget",
    ]) + "\n"
    result = subprocess.run([AVRR, "chat"], input=script, capture_output=True, text=True, timeout=300,
                            env=avrr_env(redis_server.url))
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert out.startswith("Hello! I answer questions about voluntary return")
    assert "[3] English" in out
    assert "From now on I will answer in English." in out
    assert "== Does it cost anything? ==" in out or "Source: " in out
    assert "> is it free" in out
    assert "Choose your language:" in out
    assert "Désormais" in out or "français" in out
    assert out.rstrip().endswith("/start pour recommencer.") or "/start" in out.rstrip().splitlines()[-1]
    assert "is it free" not in result.stderr, "typed text must never reach the logs"


def test_route_jsonl_prints_one_object_per_line_in_order(redis_server: RedisServer, tmp_path) -> None:
    messages = [
        "quelle aide après le retour ?",
        "is it free? who pays the ticket",
        "ما هو الوضع في العراق الآن",
        "hali ikoje Burundi sasa hivi",
        "tell me a joke about football",
        "хочу поговорить с человеком",
    ]
    result = subprocess.run([AVRR, "route", "--jsonl"], input="\n".join(messages) + "\n", capture_output=True,
                            text=True, timeout=300, env=avrr_env(redis_server.url))
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in rows] == messages
    assert all(set(r) == {"text", "lang", "route", "country", "intent", "confidence"} for r in rows)
    assert (rows[0]["lang"], rows[0]["route"]) == ("fr", "reintegration")
    assert rows[1]["route"] == "cost"
    assert (rows[2]["lang"], rows[2]["route"], rows[2]["country"]) == ("ar", "coi", "IQ")
    assert (rows[3]["lang"], rows[3]["route"], rows[3]["country"]) == ("sw", "coi", "BI")
    assert rows[4]["route"] == "out_of_scope"
    assert (rows[5]["lang"], rows[5]["route"]) == ("ru", "human")


# Phrased the way people type (misspelled, SMS, Arabizi, dialect, no punctuation); none is a training line.
VARIED = [
    ("quiero volver a mi pais quien paga el pasaje", "es", "cost", None),
    ("necesito hablar con una persona de verdad no con un robot", "es", "human", None),
    ("скажите пожалуйста что с документами если паспорт потерял", "ru", "documents", None),
    ("шу вы помогаете после возвращения деньгами", "ru", "reintegration", None),
    ("bdi a7ki ma3 shi 7ada", "ar", "human", None),
    ("3ayez arga3 baladi ezay", "ar", "process", None),
    ("ትኬት ማን ይከፍላል", "am", "cost", None),
    ("ስለ ኢትዮጵያ ሁኔታ ንገረኝ", "am", "coi", "ET"),
    ("هزینه بلیط رو کی میده", "fa", "cost", None),
    ("وضعیت افغانستان الان چطوره امنه؟", "fa", "coi", "AF"),
    ("nataka kuongea na mtu sio robot", "sw", "human", None),
    ("polisi watajua nikiomba msaada", "sw", "confidentiality", None),
    ("mimi ni mkenya hali ya usalama ikoje", "sw", "coi", "KE"),
    ("je veux rentrer au congo c est sur?", "fr", "coi", None),  # two Congos: the bot asks which
    ("wat help after retrun", "en", "reintegration", None),
]


def test_route_jsonl_understands_varied_phrasings_in_every_language(redis_server: RedisServer) -> None:
    result = subprocess.run([AVRR, "route", "--jsonl"], input="\n".join(t for t, *_ in VARIED) + "\n",
                            capture_output=True, text=True, timeout=300, env=avrr_env(redis_server.url))
    assert result.returncode == 0, result.stderr[-2000:]
    got = [(r["text"], r["lang"], r["route"], r["country"]) for r in map(json.loads, result.stdout.splitlines())]
    assert got == VARIED


def test_route_single_message() -> None:
    result = subprocess.run([AVRR, "route", "quelle aide après le retour ?"], capture_output=True, text=True,
                            timeout=300, env=avrr_env("redis://127.0.0.1:1/0"))
    assert result.returncode == 0, result.stderr[-2000:]
    row = json.loads(result.stdout)
    assert row["text"] == "quelle aide après le retour ?" and row["route"] == "reintegration"


def test_privacy_audit_lists_keys_without_ttl(redis_server: RedisServer) -> None:
    import redis as sync_redis

    client = sync_redis.Redis.from_url(redis_server.url)
    client.set("avrr:test:forever", "1")
    try:
        result = subprocess.run([AVRR, "privacy", "audit"], capture_output=True, text=True, timeout=120,
                                env=avrr_env(redis_server.url))
        assert result.returncode == 1 and "no TTL: avrr:test:forever" in result.stdout
        client.expire("avrr:test:forever", 60)
        result = subprocess.run([AVRR, "privacy", "audit"], capture_output=True, text=True, timeout=120,
                                env=avrr_env(redis_server.url))
        assert result.returncode == 0 and "0 keys without a TTL" in result.stdout
    finally:
        client.delete("avrr:test:forever")
        client.close()


def test_console_conversations_in_every_language_leave_no_personal_trace(redis_server: RedisServer) -> None:
    import redis as sync_redis

    from tests.test_privacy import IDENTIFIERS, PERSONAL, SECRETS

    lines = []
    for lang, sentences in PERSONAL.items():
        lines += [f"/start {lang}_eligibility", "1", "2", *sentences, *IDENTIFIERS, "/start", "1"]
    env = avrr_env(redis_server.url)
    env["LOG_LEVEL"] = "DEBUG"
    result = subprocess.run([AVRR, "chat"], input="\n".join(lines) + "\n", capture_output=True, text=True,
                            timeout=300, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr.count('"event": "event"') >= len(lines), "every turn was logged"
    client = sync_redis.Redis.from_url(redis_server.url, decode_responses=True)
    stored = []
    for key in client.scan_iter("*"):
        assert client.ttl(key) > 0, key
        kind = client.type(key)
        values = (client.hgetall(key).values() if kind == "hash" else client.zrange(key, 0, -1) if kind == "zset"
                  else [str(client.get(key))])
        stored += [key, *values]
    client.close()
    blob = " ".join(stored).lower()
    logs = result.stderr.lower()
    for text in [s for sentences in PERSONAL.values() for s in sentences] + IDENTIFIERS + SECRETS:
        assert text.lower() not in blob and text.lower() not in logs, text
