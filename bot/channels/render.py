"""Turning the engine's `Reply`s into Telegram messages: HTML, right-to-left marks, keyboards, splits."""

from __future__ import annotations

import html

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import MessageLimit, ParseMode

from bot.core import Reply
from bot.i18n import isolate_ltr

RLM = "\u200f"  # right-to-left mark: keeps RTL paragraphs right-to-left when they start with Latin


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


async def send_with(bot: Bot, chat_id: int, replies: list[Reply]) -> None:
    """Send replies in order; buttons go on the last part of a split message."""
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
