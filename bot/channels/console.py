"""The console channel: the same conversation in a terminal.

Buttons are shown as numbered choices; typing the number presses the button. When stdin is not
a TTY it reads one line per turn and echoes it, so a conversation can be scripted:
`printf 'hello\n1\n' | avrr chat`.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from bot.core import Button, Event, Reply
from bot.engine import Engine


def render(replies: list[Reply], out: TextIO) -> list[Button]:
    """Print replies; return the buttons of the last reply that had any, in numbered order."""
    numbered: list[Button] = []
    for reply in replies:
        if reply.title:
            out.write(f"\n== {reply.title} ==\n")
        out.write(f"{reply.text}\n")
        if reply.buttons:
            numbered = [b for row in reply.buttons for b in row]
            for i, button in enumerate(numbered, 1):
                target = f" -> {button.url}" if button.url else ""
                out.write(f"  [{i}] {button.label}{target}\n")
    out.write("\n")
    out.flush()
    return numbered


def to_event(line: str, buttons: list[Button], user: str, client_lang: str | None) -> Event:
    """A typed line becomes a button press (its number), a command (/…) or text."""
    if line.isdigit() and 1 <= int(line) <= len(buttons) and buttons[int(line) - 1].action:
        return Event(user=user, kind="button", button=buttons[int(line) - 1].action, client_lang=client_lang)
    if line.startswith("/"):
        name, _, payload = line[1:].partition(" ")
        return Event(user=user, kind="command", command=name, payload=payload.strip(), client_lang=client_lang)
    return Event(user=user, kind="text", text=line, client_lang=client_lang)


async def chat(engine: Engine, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout,
               user: str = "console:local", client_lang: str | None = None) -> None:
    """Run a conversation until end of input or /quit."""
    interactive = stdin.isatty()
    buttons = render(await engine.handle(Event(user=user, kind="command", command="start",
                                               client_lang=client_lang)), stdout)
    while True:
        if interactive:
            stdout.write("> ")
            stdout.flush()
        line = await asyncio.to_thread(stdin.readline)
        if not line:
            break
        line = line.strip()
        if not interactive:
            stdout.write(f"> {line}\n")
        if line in ("/quit", "/exit"):
            break
        if not line:
            continue
        event = to_event(line, buttons, user, client_lang)
        new_buttons = render(await engine.handle(event), stdout)
        buttons = new_buttons or buttons
