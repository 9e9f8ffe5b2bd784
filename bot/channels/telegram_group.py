"""The counsellors' group on Telegram: office commands, and the handoff desk.

Counsellors work in one supergroup (COUNSELLOR_CHAT_ID). With forum topics on, every handoff
gets its own topic; without them, counsellors reply to the bot's message about a person. Only
current members of that group (and, when COUNSELLOR_ALLOWLIST is set, only those users) can
claim, answer or close a handoff; everything else said in the group is ignored.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from zoneinfo import ZoneInfo

from telegram import Bot, Message, ReplyParameters, Update
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import BadRequest, Forbidden
from telegram.ext import ContextTypes

from bot import outreach
from bot.booking import Slots, agenda, no_show, when
from bot.channels.render import keyboard, send_with
from bot.core import Button, Event, Reply
from bot.engine import Engine
from bot.handoff import Counsellor, Handoff
from bot.security import pseudonym

log = logging.getLogger("avrr.telegram.group")

MEMBER = (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.MEMBER)


def origin(message: Message) -> str:
    """An opaque reference to a message, for copying it later (never its text)."""
    return f"tg:{message.chat.id}:{message.message_id}"


class TelegramDesk:
    """The handoff desk (see bot/handoff.py's `Desk`) in the counsellors' supergroup."""

    def __init__(self, bot: Bot, chat_id: int) -> None:
        self.bot = bot
        self.chat_id = chat_id

    def _where(self, thread: str) -> dict[str, object]:
        """Send into the forum topic ("t:<id>"), or as a reply to the request's first message ("m:<id>")."""
        kind, _, num = thread.partition(":")
        if kind == "t":
            return {"message_thread_id": int(num)}
        if kind == "m":
            return {"reply_parameters": ReplyParameters(int(num), allow_sending_without_reply=True)}
        return {}

    @staticmethod
    def _keys(thread: str, message_id: int) -> list[str]:
        return [f"m:{message_id}"] if thread.startswith("m:") else []

    async def open(self, title: str, text: str, buttons: list[list[Button]]) -> tuple[str, list[str]]:
        try:
            topic = await self.bot.create_forum_topic(self.chat_id, name=title[:128])
            thread = f"t:{topic.message_thread_id}"
        except BadRequest:  # the group has no forum topics: reply threads instead
            thread = ""
        markup = keyboard(Reply(text, "en", buttons=buttons))
        message = await self.bot.send_message(self.chat_id, text, reply_markup=markup, **self._where(thread))
        return (thread, [thread]) if thread else (f"m:{message.message_id}", [f"m:{message.message_id}"])

    async def post(self, thread: str, text: str, buttons: list[list[Button]] | None = None) -> list[str]:
        markup = keyboard(Reply(text, "en", buttons=buttons or []))
        message = await self.bot.send_message(self.chat_id, text, reply_markup=markup, **self._where(thread))
        return self._keys(thread, message.message_id)

    async def copy_in(self, thread: str, origin: str) -> list[str]:
        _, chat, message_id = origin.split(":")
        copied = await self.bot.copy_message(self.chat_id, int(chat), int(message_id), **self._where(thread))
        return self._keys(thread, copied.message_id)

    async def copy_out(self, address: str, origin: str, signature: str, text: str | None,
                       caption: str | None) -> None:
        person = int(address.split(":")[1])
        label = f"<b>{html.escape(signature, quote=False)}:</b>"
        if text is not None:
            await self.bot.send_message(person, f"{label}\n{html.escape(text, quote=False)}", parse_mode=ParseMode.HTML)
            return
        _, chat, message_id = origin.split(":")
        new_caption = f"{label}\n{html.escape(caption, quote=False)}" if caption else label
        try:
            await self.bot.copy_message(person, int(chat), int(message_id), caption=new_caption,
                                        parse_mode=ParseMode.HTML)
        except BadRequest:  # stickers and the like take no caption: sign first, then copy as is
            await self.bot.send_message(person, label, parse_mode=ParseMode.HTML)
            await self.bot.copy_message(person, int(chat), int(message_id))

    async def send(self, address: str, replies: list[Reply]) -> None:
        await send_with(self.bot, int(address.split(":")[1]), replies)

    async def close(self, thread: str, title: str) -> None:
        if thread.startswith("t:"):
            topic = int(thread[2:])
            try:
                await self.bot.edit_forum_topic(self.chat_id, topic, name=title[:128])
                await self.bot.close_forum_topic(self.chat_id, topic)
            except BadRequest as exc:  # already closed or renamed by hand
                log.info("topic not closed", extra={"error": type(exc).__name__})


def attach_desk(engine: Engine, bot: Bot) -> None:
    """Give the engine its handoff desk when a counsellors' group is configured."""
    chat = engine.settings.counsellor_chat_id
    engine.desk = TelegramDesk(bot, chat) if chat else None


def _handoff(engine: Engine) -> Handoff | None:
    return next((c for c in engine.capabilities if isinstance(c, Handoff)), None)


def in_group(update: Update, engine: Engine) -> bool:
    chat = update.effective_chat
    return bool(chat and engine.settings.counsellor_chat_id and chat.id == engine.settings.counsellor_chat_id)


async def counsellor(update: Update, context: ContextTypes.DEFAULT_TYPE, engine: Engine) -> Counsellor | None:
    """The counsellor behind this update, or None for anyone who may not act on handoffs."""
    user = update.effective_user
    settings = engine.settings
    if user is None or user.is_bot or not in_group(update, engine):
        return None
    if settings.counsellor_allowlist and user.id not in settings.counsellor_allowlist:
        return None
    member = await context.bot.get_chat_member(settings.counsellor_chat_id, user.id)
    if member.status not in MEMBER and not getattr(member, "is_member", False):
        return None
    return Counsellor(key=pseudonym(settings.secret, f"tg:{user.id}")[:16], name=user.first_name or "counsellor")


def _keys(message: Message) -> list[str]:
    """How a counsellor's message points at a handoff: its forum topic, or the message it replies to."""
    keys = []
    if message.is_topic_message and message.message_thread_id:
        keys.append(f"t:{message.message_thread_id}")
    if message.reply_to_message:
        keys.append(f"m:{message.reply_to_message.message_id}")
    return keys


async def _thread_of(update: Update, context: ContextTypes.DEFAULT_TYPE) -> tuple[Engine, Handoff, Message, str] | None:
    """The handoff a group message belongs to (with what is needed to act on it), or None."""
    engine: Engine = context.application.bot_data["engine"]
    message, handoff = update.effective_message, _handoff(engine)
    if message is None or handoff is None:
        return None
    ref = await handoff.find(engine, _keys(message))
    return (engine, handoff, message, ref) if ref else None


async def on_desk_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A message in the counsellors' group: relayed when it is in a handoff's thread, ignored otherwise."""
    found = await _thread_of(update, context)
    if found is None:
        return  # ordinary talk in the group
    engine, handoff, message, ref = found
    who = await counsellor(update, context, engine)
    if who is None:
        await message.reply_text("Only the office's counsellors can answer people through the bot.")
        return
    try:
        note = await handoff.from_desk(engine, ref, who, origin(message), message.text, message.caption)
    except Forbidden:  # the person blocked the bot or deleted the chat
        note = f"Not delivered: the person has blocked the bot or deleted the chat. Close #{ref} with /close."
    if note:
        await message.reply_text(note)


async def on_desk_close(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/close in a handoff's thread ends it."""
    found = await _thread_of(update, context)
    if found is None:
        return
    engine, handoff, message, ref = found
    who = await counsellor(update, context, engine)
    if who is None:
        await message.reply_text("Only the office's counsellors can close a chat.")
    elif not await handoff.close_from_desk(engine, ref, who):
        await message.reply_text(f"#{ref} is already closed.")


async def on_desk_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Claim or Close under a handoff's summary; the answer pops up for the counsellor who pressed it."""
    engine: Engine = context.application.bot_data["engine"]
    query, handoff = update.callback_query, _handoff(engine)
    who = await counsellor(update, context, engine)
    if who is None or handoff is None:
        await query.answer("Only the office's counsellors can do this.", show_alert=True)
        return
    answer = await handoff.desk_button(engine, query.data or "", who)
    await query.answer(answer, show_alert=not answer.startswith("You "))


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
    engine: Engine = context.application.bot_data["engine"]
    chat = update.effective_chat
    if not is_counsellor(update, engine):
        if chat and chat.type == "private":
            user = update.effective_user
            event = Event(user=f"tg:{user.id if user else 'anonymous'}", kind="command", command="counsellors-only",
                          client_lang=user.language_code if user else None)
            await send_with(context.bot, chat.id, await engine.handle(event))
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
