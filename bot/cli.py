"""The `avrr` command line: one entry point for running, chatting, routing and training."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import logs
from bot.config import ConfigError, Settings, load_settings


def _settings() -> Settings:
    settings = load_settings()
    logs.setup(settings.log_level)
    return settings


def cmd_run(args: argparse.Namespace) -> int:
    """Serve Telegram by polling (or, with --console-if-no-token and no token, chat in the terminal)."""
    settings = _settings()
    if not settings.telegram_token:
        if args.console_if_no_token:
            print("TELEGRAM_BOT_TOKEN is not set, so the assistant opens in this terminal instead.\n"
                  "To run it on Telegram: get a token from @BotFather, then\n"
                  "  export TELEGRAM_BOT_TOKEN=123456:ABC...   (or put it in .env) and run `make run` again.\n",
                  file=sys.stderr)
            return cmd_chat(args)
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set: get one from @BotFather (see README)")
    if getattr(args, "webhook", False) or settings.webhook_url:  # webhooks: N workers behind a load balancer
        from bot.channels.webhook import serve

        return serve(settings, args.host or settings.webhook_listen, args.port or settings.webhook_port,
                     args.workers or settings.webhook_workers)
    from bot import app
    from bot.channels.telegram import run_polling

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with app.engine(settings) as engine:
            await run_polling(engine, settings.telegram_token or "", settings.telegram_api_base_url, stop)

    asyncio.run(main())
    return 0


def cmd_webhook(args: argparse.Namespace) -> int:
    """Tell Telegram where to post updates (setWebhook), stop it (deleteWebhook), or show its state."""
    settings = _settings()
    from bot.channels import webhook

    if args.webhook_command == "set":
        info = asyncio.run(webhook.set_webhook(settings, drop_pending=args.drop_pending))
    elif args.webhook_command == "delete":
        info = asyncio.run(webhook.delete_webhook(settings, drop_pending=args.drop_pending))
    else:
        info = asyncio.run(webhook.webhook_info(settings))
    print(json.dumps(info, ensure_ascii=False))
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    """The same conversation in the terminal (scriptable through stdin)."""
    settings = _settings()
    from bot import app
    from bot.channels.console import chat

    async def main() -> None:
        async with app.engine(settings) as engine:
            await chat(engine, client_lang=getattr(args, "lang", None))

    asyncio.run(main())
    return 0


def cmd_route(args: argparse.Namespace) -> int:
    """Print what the bot would do with a message (or each stdin line with --jsonl)."""
    settings = _settings()
    from bot.app import understanding as load_understanding

    understanding = load_understanding(settings)

    async def one(text: str) -> str:
        d = await understanding.decide(text)
        return json.dumps({"text": text, "lang": d.lang, "route": d.route, "country": d.country,
                           "intent": d.intent, "confidence": round(d.confidence, 4)}, ensure_ascii=False)

    async def main() -> None:
        if args.jsonl:
            for line in sys.stdin:
                text = line.rstrip("\n")
                if text.strip():
                    print(await one(text), flush=True)
        else:
            print(await one(" ".join(args.text)))

    if not args.jsonl and not args.text:
        raise ConfigError("avrr route needs a message, or --jsonl to read one per line from stdin")
    asyncio.run(main())
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    """Train the NLU model if config.yml, the normaliser or the training data changed."""
    settings = _settings()
    from nlu.train import train

    path = train(settings.root, settings.var_dir, force=args.force)
    print(f"NLU model: {path.relative_to(settings.root) if path.is_relative_to(settings.root) else path}")
    return 0


def cmd_content_check(args: argparse.Namespace) -> int:
    """Check the content files; exit 1 when any error is found."""
    settings = _settings()
    from bot import eligibility
    from bot.content import check
    from bot.i18n import available_languages

    languages = available_languages(settings.locales_dir)
    problems = check(settings.content_dir, languages, dt.date.today(), settings.review_max_age_days)
    problems += eligibility.check(settings.content_dir / "eligibility.yml", languages)
    for line in problems:
        print(line)
    errors = sum(1 for p in problems if p.startswith("error"))
    warnings = len(problems) - errors
    print(f"content check: {errors} errors, {warnings} warnings")
    return 1 if errors or (args.strict and warnings) else 0


def cmd_content_status(args: argparse.Namespace) -> int:
    """List every text still in draft, for native speakers and counsellors to review."""
    settings = _settings()
    from bot.content import status
    from bot.i18n import available_languages

    rows = status(settings.content_dir, available_languages(settings.locales_dir))
    for file, part, langs in rows:
        print(f"{file:34} {langs}" if part == "error" else f"{file:34} {part:14} draft: {langs}")
    print(f"{len(rows)} texts await review" if rows else "nothing awaits review")
    return 0


def cmd_nlu_eval(args: argparse.Namespace) -> int:
    """Score routing on the held-out test set (or the dev set); print and write a report (markdown and JSON)."""
    settings = _settings()
    from bot.app import understanding as load_understanding
    from nlu.evaluate import evaluate, held_out_examples

    understanding = load_understanding(settings)

    async def route_of(text: str) -> str:
        return (await understanding.decide(text)).route

    examples = held_out_examples(settings.root, args.set)
    if not examples:
        print(f"no labelled examples in nlu/{args.set}/", file=sys.stderr)
        return 1
    report = asyncio.run(evaluate(examples, route_of))
    text = f"Set: nlu/{args.set}/\n\n" + report.to_markdown(args.target)
    print(text)
    out = args.report or settings.var_dir / "reports" / f"nlu-eval-{args.set}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    out.with_suffix(".json").write_text(report.to_json(), encoding="utf-8")
    print(f"report written to {out} and {out.with_suffix('.json')}")
    below = [lang for lang, row in report.by_language.items() if row["macro_f1"] < args.target]
    return 1 if args.strict and below else 0


def cmd_nlu_langbench(args: argparse.Namespace) -> int:
    """Language identification accuracy by message length on nlu/test/lang/*.tsv."""
    settings = _settings()
    from bot.i18n import available_languages
    from nlu import langbench

    rows = langbench.load(settings.root)
    result = langbench.run(rows, available_languages(settings.locales_dir), settings.default_language)
    text = langbench.to_markdown(result)
    print(text)
    out = args.report or settings.var_dir / "reports" / "langbench.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return 0


def cmd_privacy_audit(args: argparse.Namespace) -> int:
    """List every Redis key without a TTL (there must be none); exit 1 when any is found."""
    settings = _settings()
    from bot import app

    async def main() -> list[str]:
        async with app.store(settings) as store:
            return await store.keys_without_ttl()

    forever = asyncio.run(main())
    for key in forever:
        print(f"no TTL: {key}")
    print(f"privacy audit: {len(forever)} keys without a TTL")
    return 1 if forever else 0


def _caption(settings: Settings):
    """The poster caption in a language, from the catalogs."""
    from bot.i18n import Catalogs
    from bot.outreach import CAPTION

    catalogs = Catalogs(settings.locales_dir)

    def caption(lang: str | None) -> str:
        return catalogs.gettext(lang or settings.default_language)(CAPTION)

    return caption


def cmd_link(args: argparse.Namespace) -> int:
    """Print a t.me link (and write a QR code) that opens the assistant in a language, on a topic."""
    settings = _settings()
    from bot import links, outreach
    from bot.i18n import available_languages

    bot = args.bot or settings.bot_username
    if not bot:
        raise ConfigError("the bot's username is needed: --bot avrr_bot or TELEGRAM_BOT_USERNAME")
    caption = _caption(settings)
    if args.sheet:
        for url, path in outreach.sheet(args.sheet, args.out, bot, caption):
            print(f"{url}  {path}")
        return 0
    languages = available_languages(settings.locales_dir)
    if args.lang and args.lang not in languages:
        raise ConfigError(f"--lang {args.lang!r} is not one of {', '.join(languages)}")
    try:
        payload = links.encode(links.Link(args.lang, args.topic, args.country, args.campaign))
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    url = links.url(bot, payload)
    print(url)
    if args.qr:
        try:
            outreach.qr(url, args.qr, caption(args.lang) if args.caption else None)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        print(f"QR code written to {args.qr}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    """Reach per day, campaign, language and entry topic; counts below 5 shown as <5."""
    settings = _settings()
    from bot import app, outreach

    async def main() -> dict[str, dict[str, int]]:
        async with app.store(settings) as store:
            return await store.counters()

    since = dt.date.fromisoformat(args.since) if args.since else None
    print(outreach.table(outreach.rows(asyncio.run(main()), args.campaign, since), as_csv=args.csv), end="")
    return 0


def cmd_slots(args: argparse.Namespace) -> int:
    """Counsellors' availability: add (with weekly repeats and office holidays), list, remove."""
    settings = _settings()
    from zoneinfo import ZoneInfo

    from bot import app
    from bot.booking import Slots, agenda, when

    tz = ZoneInfo(settings.office_timezone)

    async def main() -> int:
        async with app.store(settings) as store:
            slots = Slots(store.redis, settings.appointment_retention_days)
            now = dt.datetime.now(dt.timezone.utc)
            if args.slots_command == "add":
                try:
                    first = dt.datetime.fromisoformat(args.start).replace(tzinfo=tz)
                    skip = {dt.date.fromisoformat(d) for d in (args.except_dates or "").split(",") if d}
                except ValueError as exc:
                    raise ConfigError(f"--start/--except: {exc} (use 2026-11-30T09:00 and 2026-12-25)") from None
                made = 0
                for week in range(args.weekly or 1):
                    local = first + dt.timedelta(weeks=week)  # same wall-clock time, across DST changes
                    if local.date() in skip:
                        continue
                    try:
                        sid = await slots.add(local.astimezone(dt.timezone.utc), args.minutes, args.office, args.mode,
                                              [x for x in args.langs.split(",") if x], args.counsellor, now)
                    except ValueError as exc:
                        raise ConfigError(str(exc)) from None
                    print(f"{sid}  {when(local, args.minutes, 'en_GB', tz)}")
                    made += 1
                print(f"{made} slots added")
            elif args.slots_command == "list":
                print("\n".join(await agenda(slots, tz, now, args.days)) or "no slots")
            else:
                if not await slots.remove(args.id):
                    print(f"slot {args.id} not found, or booked (cancel the appointment first)")
                    return 1
                print(f"slot {args.id} removed")
            return 0

    return asyncio.run(main())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="avrr", description="AVRR Assistant: voluntary return information.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run the Telegram bot (polling, or webhooks with --webhook or WEBHOOK_URL)")
    p.add_argument("--console-if-no-token", action="store_true",
                   help="open the terminal chat when TELEGRAM_BOT_TOKEN is not set (make run)")
    p.add_argument("--webhook", action="store_true",
                   help="serve Telegram webhooks (POST /telegram, GET /healthz, /readyz) instead of polling")
    p.add_argument("--host", help="webhook: address to listen on (default WEBHOOK_LISTEN, 127.0.0.1)")
    p.add_argument("--port", type=int, help="webhook: port to listen on (default WEBHOOK_PORT, 8080)")
    p.add_argument("--workers", type=int, help="webhook: worker processes (default WEBHOOK_WORKERS, 1)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("webhook", help="setWebhook / deleteWebhook / getWebhookInfo on Telegram")
    wsub = p.add_subparsers(dest="webhook_command", required=True)
    w = wsub.add_parser("set", help="point Telegram at WEBHOOK_URL with WEBHOOK_SECRET; also sets the command menu")
    w.add_argument("--drop-pending", action="store_true", help="discard updates Telegram is still holding")
    w = wsub.add_parser("delete", help="stop webhook delivery (to poll with `avrr run` again)")
    w.add_argument("--drop-pending", action="store_true", help="discard updates Telegram is still holding")
    wsub.add_parser("info", help="print what Telegram has: address, pending updates, last delivery error")
    p.set_defaults(func=cmd_webhook)

    p = sub.add_parser("chat", help="talk to the assistant in this terminal")
    p.add_argument("--lang", help="pretend the client's language is this code (like Telegram's language_code)")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("route", help="print the language, route and country for a message as JSON")
    p.add_argument("text", nargs="*", help="the message")
    p.add_argument("--jsonl", action="store_true", help="read one message per line on stdin, print JSON lines")
    p.set_defaults(func=cmd_route)

    p = sub.add_parser("train", help="train the NLU model when its inputs changed")
    p.add_argument("--force", action="store_true", help="train even if a model for these inputs exists")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("nlu", help="NLU evaluation tools")
    nsub = p.add_subparsers(dest="nlu_command", required=True)
    n = nsub.add_parser("eval", help="per-language and per-intent precision/recall/F1 on nlu/test/ (held out)")
    n.add_argument("--set", choices=("test", "dev"), default="test",
                   help="nlu/test/ (held-out test set, the default) or nlu/dev/ (development set for tuning)")
    n.add_argument("--report", type=Path, help="where to write the markdown report (JSON next to it)")
    n.add_argument("--target", type=float, default=0.92, help="macro-F1 target per language (default 0.92)")
    n.add_argument("--strict", action="store_true", help="exit 1 when a language is below the target")
    n.set_defaults(func=cmd_nlu_eval)

    n = nsub.add_parser("langbench", help="language identification accuracy by message length")
    n.add_argument("--report", type=Path, help="where to write the markdown table")
    n.set_defaults(func=cmd_nlu_langbench)

    p = sub.add_parser("link", help="print a t.me link (and a QR code) for a language, topic, country, campaign")
    p.add_argument("--lang", help="language code, e.g. fa")
    p.add_argument("--topic", help="route, e.g. reintegration")
    p.add_argument("--country", help="ISO code of a country of origin, e.g. AF")
    p.add_argument("--campaign", help="campaign name: a-z, 0-9 and '-', e.g. kigoma-2026-11")
    p.add_argument("--bot", help="the bot's username (default: TELEGRAM_BOT_USERNAME)")
    p.add_argument("--qr", type=Path, help="write a QR code to this .png or .svg file")
    p.add_argument("--caption", action="store_true", help="print a caption in the link's language under the QR")
    p.add_argument("--sheet", type=Path, help="CSV with columns lang,topic,country,campaign,name: one QR per row")
    p.add_argument("--out", type=Path, default=Path("links"), help="folder for --sheet output (default links/)")
    p.set_defaults(func=cmd_link)

    p = sub.add_parser("stats", help="reach per day, campaign, language and entry topic (no personal data)")
    p.add_argument("--campaign", help="only this campaign")
    p.add_argument("--since", help="only from this day on (YYYY-MM-DD)")
    p.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("slots", help="counsellors' availability: add, list, remove")
    ssub = p.add_subparsers(dest="slots_command", required=True)
    a = ssub.add_parser("add", help="add a slot (optionally repeated weekly)")
    a.add_argument("--start", required=True, help="office local time, e.g. 2026-11-30T09:00")
    a.add_argument("--minutes", type=int, default=45)
    a.add_argument("--mode", required=True, help="office, phone, video or telegram")
    a.add_argument("--langs", required=True, help="counselling languages, e.g. fr,ar")
    a.add_argument("--office", default="Main office")
    a.add_argument("--counsellor", default="Counsellor", help="a role name, no personal data")
    a.add_argument("--weekly", type=int, help="repeat on the same weekday and time for N weeks")
    a.add_argument("--except", dest="except_dates", help="office holidays to skip, e.g. 2026-12-25,2027-01-01")
    a = ssub.add_parser("list", help="slots and appointments (reference, language, topic) for the next days")
    a.add_argument("--days", type=int, default=14)
    a = ssub.add_parser("remove", help="remove an open slot")
    a.add_argument("id")
    p.set_defaults(func=cmd_slots)

    p = sub.add_parser("privacy", help="privacy tools")
    psub = p.add_subparsers(dest="privacy_command", required=True)
    a = psub.add_parser("audit", help="list Redis keys without a TTL (exit 1 when there is any)")
    a.set_defaults(func=cmd_privacy_audit)

    p = sub.add_parser("content", help="content tools")
    csub = p.add_subparsers(dest="content_command", required=True)
    c = csub.add_parser("check", help="check schema, languages, sources, dates, links and page length")
    c.add_argument("--strict", action="store_true", help="also fail on warnings (stale content, no offices)")
    c.set_defaults(func=cmd_content_check)
    c = csub.add_parser("status", help="list the texts still in draft (awaiting review)")
    c.set_defaults(func=cmd_content_status)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"avrr: configuration error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
