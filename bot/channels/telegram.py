"""The Telegram channel (python-telegram-bot v22): updates in, engine replies out.

One small async function per handler, the Application wired in `build_application`. State
lives in the engine's Redis, not in PTB's persistence or ConversationHandler, so several
workers can serve one bot. Only private chats are served here.
"""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot, BotCommand, Update
from telegram.constants import ChatAction
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

from bot import logs
from bot.channels.limits import RedisRateLimiter
from bot.channels.render import keyboard, send_with, split_message, to_html
from bot.channels.telegram_group import (
    attach_desk,
    in_group,
    on_counsellor_command,
    on_desk_button,
    on_desk_close,
    on_desk_message,
    origin,
)
from bot.core import Event, Reply
from bot.engine import Engine
from bot.i18n import N_, Catalogs

log = logging.getLogger("avrr.telegram")

PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
COMMANDS = (
    ("start", N_("Start again")),
    ("menu", N_("Main menu")),
    ("language", N_("Change language")),
    ("help", N_("Help")),
    ("privacy", N_("What is kept")),
    ("forget", N_("Delete my data")),
    ("stop", N_("End the chat with a counsellor")),
)
__all__ = ["keyboard", "run_polling", "send_with", "split_message", "to_html"]


def _user(update: Update) -> tuple[str, str | None]:
    user = update.effective_user
    if user is None:
        return "tg:anonymous", None
    return f"tg:{user.id}", user.language_code


def _chat(update: Update) -> str | None:
    return f"tg:{update.effective_chat.id}" if update.effective_chat else None


async def send(context: ContextTypes.DEFAULT_TYPE, chat_id: int, replies: list[Reply]) -> None:
    """Send replies in order; buttons go on the last part of a split message."""
    await send_with(context.bot, chat_id, replies)


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
    message = update.effective_message
    event = Event(user=user, kind="text", text=message.text or "", client_lang=lang, chat=_chat(update),
                  origin=origin(message))
    await send(context, chat_id, await _engine(context).handle(event))


async def on_other(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Photos, voice, documents, stickers…: relayed during a handoff, otherwise a polite 'text only' answer."""
    user, lang = _user(update)
    event = Event(user=user, kind="other", client_lang=lang, chat=_chat(update),
                  origin=origin(update.effective_message))
    await send(context, update.effective_chat.id, await _engine(context).handle(event))


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An inline button: stop the client's spinner first, then answer in the chat."""
    query = update.callback_query
    if in_group(update, _engine(context)):
        await on_desk_button(update, context)
        return
    await query.answer()
    if query.message is None or query.message.chat.type != "private":
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


async def set_commands(bot: Bot, catalogs: Catalogs, default_language: str) -> None:
    """Register the command menu in every language the bot speaks."""
    for lang in [None, *catalogs.languages]:
        _ = catalogs.gettext(lang or default_language)
        commands = [BotCommand(name, _(desc)) for name, desc in COMMANDS]
        await bot.set_my_commands(commands, language_code=lang)


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
    if engine.settings.counsellor_chat_id:
        group = filters.Chat(engine.settings.counsellor_chat_id) & filters.UpdateType.MESSAGE
        application.add_handler(CommandHandler("close", on_desk_close, filters=group))
        application.add_handler(MessageHandler(group & ~filters.COMMAND & ~filters.StatusUpdate.ALL, on_desk_message))
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
    """Serve the bot by long polling until `stop` is set (with the same shared limits as webhooks)."""
    limiter = RedisRateLimiter(engine.store.redis, engine.settings.secret, token.split(":", 1)[0],
                               per_second=engine.settings.telegram_max_per_second)
    application = build_application(engine, token, api_base_url, rate_limiter=limiter)
    async with application:
        engine.bot_username = engine.bot_username or application.bot.username  # for share links
        attach_desk(engine, application.bot)
        await set_commands(application.bot, engine.catalogs, engine.settings.default_language)
        await application.start()
        await application.updater.start_polling(timeout=poll_timeout, allowed_updates=Update.ALL_TYPES)
        log.info("telegram polling started", extra={"mode": "polling"})
        await outbox_loop(engine, application.bot, stop, outbox_every)
        await application.updater.stop()
        await application.stop()
