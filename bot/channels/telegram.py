"""The Telegram channel (python-telegram-bot v22): updates in, engine replies out.

One small async function per handler, the Application wired in `build_application`. State
lives in the engine's Redis, not in PTB's persistence or ConversationHandler, so several
workers can serve one bot. Only private chats are served here.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import html
import logging
from zoneinfo import ZoneInfo

from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ChatAction, MessageLimit, ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseRateLimiter,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import logs, outreach
from bot.booking import Slots, agenda, no_show, when
from bot.core import Event, Reply
from bot.engine import Engine
from bot.i18n import N_, isolate_ltr

log = logging.getLogger("avrr.telegram")

RLM = "\u200f"  # right-to-left mark: keeps RTL paragraphs right-to-left when they start with Latin
PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
COMMANDS = (
    ("start", N_("Start again")),
    ("menu", N_("Main menu")),
    ("language", N_("Change language")),
    ("help", N_("Help")),
    ("privacy", N_("What is kept")),
    ("forget", N_("Delete my data")),
)


def _user(update: Update) -> tuple[str, str | None]:
    user = update.effective_user
    if user is None:
        return "tg:anonymous", None
    return f"tg:{user.id}", user.language_code


def _chat(update: Update) -> str | None:
    return f"tg:{update.effective_chat.id}" if update.effective_chat else None


def split_message(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Split escaped HTML text at line breaks so each part fits Telegram's limit."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # one very long line: cut it, never inside an entity like &amp;
            cut = line.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
            amp = line.rfind("&", 0, cut)
            if amp != -1 and ";" not in line[amp:cut]:
                cut = amp
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:cut])
            line = line[cut:].lstrip(" ")
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current or not parts:
        parts.append(current)
    return parts


def to_html(reply: Reply) -> str:
    """Escape the reply's text, bold its title; in RTL replies isolate Latin runs and mark paragraphs."""
    text, title = reply.text, reply.title
    if reply.rtl:
        text, title = isolate_ltr(text), isolate_ltr(title) if title else title
    body = html.escape(text, quote=False)
    if title:
        body = f"<b>{html.escape(title, quote=False)}</b>\n\n{body}"
    if reply.rtl:
        body = "\n".join(RLM + line if line else line for line in body.split("\n"))
    return body


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    rows = [
        [InlineKeyboardButton(b.label, url=b.url) if b.url else InlineKeyboardButton(b.label, callback_data=b.action)
         for b in row]
        for row in reply.buttons
    ]
    return InlineKeyboardMarkup(rows)


async def send(context: ContextTypes.DEFAULT_TYPE, chat_id: int, replies: list[Reply]) -> None:
    """Send replies in order; buttons go on the last part of a split message."""
    await send_with(context.bot, chat_id, replies)


async def send_with(bot: Bot, chat_id: int, replies: list[Reply]) -> None:
    for reply in replies:
        parts = split_message(to_html(reply))
        for i, part in enumerate(parts):
            await bot.send_message(
                chat_id,
                part,
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard(reply) if i == len(parts) - 1 else None,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )


def _engine(context: ContextTypes.DEFAULT_TYPE) -> Engine:
    return context.application.bot_data["engine"]


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start, optionally with a deep-link payload (t.me/<bot>?start=<payload>)."""
    user, lang = _user(update)
    payload = " ".join(context.args or [])
    event = Event(user=user, kind="command", command="start", payload=payload, client_lang=lang,
                  chat=_chat(update))
    await send(context, update.effective_chat.id, await _engine(context).handle(event))


async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any other /command: handled by the engine, never by the NLU."""
    user, lang = _user(update)
    text = update.effective_message.text or ""
    name, _, payload = text[1:].partition(" ")
    event = Event(user=user, kind="command", command=name.split("@", 1)[0], payload=payload.strip(),
                  client_lang=lang, chat=_chat(update))
    await send(context, update.effective_chat.id, await _engine(context).handle(event))


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A typed message: show 'typing…' while the engine understands it."""
    user, lang = _user(update)
    chat_id = update.effective_chat.id
    await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
    event = Event(user=user, kind="text", text=update.effective_message.text or "", client_lang=lang,
                  chat=_chat(update))
    await send(context, chat_id, await _engine(context).handle(event))


async def on_other(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, voice, locations, contacts…: a polite 'text only' answer."""
    user, lang = _user(update)
    event = Event(user=user, kind="other", client_lang=lang)
    await send(context, update.effective_chat.id, await _engine(context).handle(event))


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An inline button: stop the client's spinner first, then answer in the chat."""
    query = update.callback_query
    await query.answer()
    if query.message is None:
        return
    user, lang = _user(update)
    event = Event(user=user, kind="button", button=query.data or "", client_lang=lang, chat=_chat(update))
    await send(context, query.message.chat.id, await _engine(context).handle(event))


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure without any message text, and tell the person something went wrong."""
    error = context.error
    log.error("telegram handler failed", extra={"error": type(error).__name__,
                                               "where": logs.where(error) if error else "?"})
    if isinstance(update, Update) and update.effective_chat and update.effective_chat.type == "private":
        user, lang = _user(update)
        try:
            replies = await _engine(context).handle(Event(user=user, kind="error", client_lang=lang))
            await send(context, update.effective_chat.id, replies)
        except Exception as exc:  # the apology itself failed (e.g. network down): log and give up
            log.error("could not send error message", extra={"error": type(exc).__name__})


async def send_pre(bot: Bot, chat_id: int, lines: list[str]) -> None:
    """Monospace text for counsellors, one block per message within Telegram's limit."""
    lines = list(lines) or ["-"]
    while lines:
        chunk: list[str] = []
        while lines and sum(len(x) + 1 for x in chunk) + len(lines[0]) < 3500:
            chunk.append(lines.pop(0))
        chunk = chunk or [lines.pop(0)[:3500]]
        await bot.send_message(chat_id, f"<pre>{html.escape(chr(10).join(chunk), quote=False)}</pre>",
                               parse_mode=ParseMode.HTML)


def is_counsellor(update: Update, engine: Engine) -> bool:
    """In the counsellors' group, or a user on the allowlist."""
    settings = engine.settings
    chat, user = update.effective_chat, update.effective_user
    in_group = bool(chat and settings.counsellor_chat_id and chat.id == settings.counsellor_chat_id)
    return in_group or bool(user and user.id in settings.counsellor_allowlist)


async def on_counsellor_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats, /agenda, /slots, /noshow: only for counsellors; a person gets a polite refusal."""
    engine = _engine(context)
    chat = update.effective_chat
    if not is_counsellor(update, engine):
        if chat and chat.type == "private":
            _, lang = _user(update)
            await send(context, chat.id, await engine.handle(Event(user=_user(update)[0], kind="command",
                                                                   command="counsellors-only", client_lang=lang)))
        return
    text = update.effective_message.text or ""
    name, *args = text[1:].split()
    name = name.split("@", 1)[0].lower()
    tz = ZoneInfo(engine.settings.office_timezone)
    slots = Slots(engine.store.redis, engine.settings.appointment_retention_days)
    now = dt.datetime.now(dt.timezone.utc)
    if name == "stats":
        since = dt.date.today() - dt.timedelta(days=7)
        lines = outreach.table(outreach.rows(await engine.store.counters(), since=since)).splitlines()
    elif name == "agenda":
        today = dt.datetime.combine(now.astimezone(tz).date(), dt.time(), tz)
        lines = await agenda(slots, tz, today, 2) or ["no slots today or tomorrow"]
    elif name == "noshow":
        ok = bool(args) and await no_show(slots, args[0])
        lines = [f"#{args[0].lstrip('#').upper()} marked as no-show" if ok else "usage: /noshow K7Q2 (a reference)"]
    elif args[:1] == ["add"] and len(args) == 5:
        try:
            start = dt.datetime.fromisoformat(args[1]).replace(tzinfo=tz).astimezone(dt.timezone.utc)
            sid = await slots.add(start, int(args[2]), "Main office", args[3], args[4].split(","), "Counsellor", now)
            lines = [f"slot {sid} added: {when(start, int(args[2]), 'en_GB', tz)}"]
        except ValueError as exc:
            lines = [f"not added: {exc}"]
    elif args[:1] == ["remove"] and len(args) == 2:
        lines = [f"slot {args[1]} removed" if await slots.remove(args[1]) else "not found, or booked"]
    else:
        lines = await agenda(slots, tz, now, 7) or ["no slots in the next 7 days"]
        lines += ["", "/slots add 2026-11-30T09:00 45 phone fr,ar   /slots remove <id>"]
    await send_pre(context.bot, chat.id, lines)


async def set_commands(application: Application) -> None:
    """Register the command menu in every language the bot speaks."""
    engine: Engine = application.bot_data["engine"]
    for lang in [None, *engine.languages]:
        _ = engine.catalogs.gettext(lang or engine.settings.default_language)
        commands = [BotCommand(name, _(desc)) for name, desc in COMMANDS]
        await application.bot.set_my_commands(commands, language_code=lang)


def build_application(engine: Engine, token: str, api_base_url: str,
                      rate_limiter: BaseRateLimiter | None = None, polling: bool = True) -> Application:
    """The python-telegram-bot Application, wired in one place.

    Webhook workers pass `polling=False` (no Updater: updates come from the web server) and a
    rate limiter shared through Redis (bot/channels/limits.py).
    """
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(f"{api_base_url}/bot")
        .base_file_url(f"{api_base_url}/file/bot")
    )
    if rate_limiter is not None:
        builder = builder.rate_limiter(rate_limiter)
    if not polling:
        builder = builder.updater(None)
    application = builder.build()
    application.bot_data["engine"] = engine
    application.add_handler(CommandHandler(["stats", "agenda", "slots", "noshow"], on_counsellor_command,
                                           filters=filters.UpdateType.MESSAGE))
    application.add_handler(CommandHandler("start", on_start, filters=PRIVATE))
    application.add_handler(MessageHandler(PRIVATE & filters.COMMAND, on_command))
    application.add_handler(MessageHandler(PRIVATE & filters.TEXT & ~filters.COMMAND, on_text))
    application.add_handler(MessageHandler(PRIVATE & ~filters.TEXT, on_other))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_error_handler(on_error)
    return application


async def deliver_outbox(engine: Engine, bot: Bot) -> int:
    """Send what is due (reminders); each is claimed once in Redis, so several workers may run this."""
    sent = 0
    for address, replies in await engine.outbox():
        if address.startswith("tg:"):
            try:
                await send_with(bot, int(address[3:]), replies)
                sent += 1
            except Exception as exc:  # a blocked bot or a deleted chat must not stop the others
                log.error("reminder not delivered", extra={"error": type(exc).__name__})
    return sent


async def outbox_loop(engine: Engine, bot: Bot, stop: asyncio.Event, every: float) -> None:
    while not stop.is_set():
        try:
            await deliver_outbox(engine, bot)
        except Exception as exc:
            log.error("outbox failed", extra={"error": type(exc).__name__, "where": logs.where(exc)})
        try:
            await asyncio.wait_for(stop.wait(), every)
        except asyncio.TimeoutError:
            pass


async def run_polling(engine: Engine, token: str, api_base_url: str, stop: asyncio.Event,
                      poll_timeout: int = 30, outbox_every: float = 30.0) -> None:
    """Serve the bot by long polling until `stop` is set."""
    application = build_application(engine, token, api_base_url)
    async with application:
        engine.bot_username = engine.bot_username or application.bot.username  # for share links
        await set_commands(application)
        await application.start()
        await application.updater.start_polling(timeout=poll_timeout, allowed_updates=Update.ALL_TYPES)
        log.info("telegram polling started", extra={"mode": "polling"})
        await outbox_loop(engine, application.bot, stop, outbox_every)
        await application.updater.stop()
        await application.stop()
