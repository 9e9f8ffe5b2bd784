"""A small fake Telegram Bot API server for end-to-end tests.

python-telegram-bot talks real HTTP to it. The test plays the person: it queues updates
(`/start` with a payload, typed text, button presses) and reads back what the bot sent.
Unknown methods answer 404, and are recorded, so a test notices calls it did not expect.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

from aiohttp import web

BOT_USER = {"id": 999000, "is_bot": True, "first_name": "AVRR Test", "username": "avrr_test_bot",
            "can_join_groups": False, "can_read_all_group_messages": False, "supports_inline_queries": False}


class ApiError(Exception):
    """Answer a method with Telegram's error shape (e.g. 400 "the chat is not a forum")."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code, self.description = code, description


class FakeBotAPI:
    """Holds pending updates and every call the bot made.

    Groups have negative ids. `forum` says whether the counsellors' group has topics; `members`
    maps user ids to their getChatMember status (default "member").
    """

    def __init__(self, token: str) -> None:
        self.token = token
        self.updates: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.unknown: list[str] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.forum = True
        self.members: dict[int, str] = {}
        self.names: dict[int, str] = {}  # first names of users (default "Tester")
        self.blocked: set[int] = set()  # people who blocked the bot (403 on sending to them)
        self._topics = itertools.count(700)
        self.no_caption: set[str] = set()  # message ids (stickers) that refuse a caption when copied

    # -- server ------------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _params(self, request: web.Request) -> dict[str, Any]:
        raw: dict[str, Any] = {}
        if request.content_type == "application/json":
            raw = await request.json()
        elif request.can_read_body:
            raw = dict(await request.post())
        params: dict[str, Any] = {}
        for key, value in raw.items():
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError:
                    pass
            params[key] = value
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params = await self._params(request)
        handler = getattr(self, f"api_{method}", None)
        if handler is None:
            self.unknown.append(method)
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        try:
            result = await handler(params)
        except ApiError as exc:
            async with self._changed:
                self.calls.append((method, params))
                self._changed.notify_all()
            return web.json_response({"ok": False, "error_code": exc.code, "description": exc.description},
                                     status=exc.code)
        if method != "getUpdates":
            async with self._changed:
                self.calls.append((method, params))
                self._changed.notify_all()
        return web.json_response({"ok": True, "result": result})

    # -- Bot API methods -------------------------------------------------------------------

    async def api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return BOT_USER

    async def api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        return True

    async def api_setMyCommands(self, params: dict[str, Any]) -> bool:
        return True

    async def api_sendChatAction(self, params: dict[str, Any]) -> bool:
        return True

    async def api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        return True

    async def api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        async with self._changed:
            while True:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
                if self.updates or time.monotonic() >= deadline:
                    return list(self.updates)
                try:
                    await asyncio.wait_for(self._changed.wait(), deadline - time.monotonic())
                except asyncio.TimeoutError:
                    pass

    @staticmethod
    def _chat(chat_id: int) -> dict[str, Any]:
        if chat_id < 0:
            return {"id": chat_id, "type": "supergroup", "title": "Counsellors"}
        return {"id": chat_id, "type": "private", "first_name": "Tester"}

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self._chat(int(params["chat_id"])),
            "from": BOT_USER,
            "text": params.get("text", ""),
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        if params.get("message_thread_id"):
            message.update(message_thread_id=int(params["message_thread_id"]), is_topic_message=True)
        return message

    def _check_blocked(self, params: dict[str, Any]) -> None:
        if int(params["chat_id"]) in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")

    async def api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        self._check_blocked(params)
        message = self._message(params)
        params["_message"] = message
        return message

    async def api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._message(params)

    async def api_createForumTopic(self, params: dict[str, Any]) -> dict[str, Any]:
        if not self.forum:
            raise ApiError(400, "Bad Request: the chat is not a forum")
        return {"message_thread_id": next(self._topics), "name": params["name"], "icon_color": 7322096}

    async def api_editForumTopic(self, params: dict[str, Any]) -> bool:
        return True

    async def api_closeForumTopic(self, params: dict[str, Any]) -> bool:
        return True

    async def api_copyMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        self._check_blocked(params)
        if params.get("caption") is not None and str(params.get("message_id")) in self.no_caption:
            raise ApiError(400, "Bad Request: message can't have a caption")
        return {"message_id": next(self._message_ids)}

    async def api_getChatMember(self, params: dict[str, Any]) -> dict[str, Any]:
        user_id = int(params["user_id"])
        return {"status": self.members.get(user_id, "member"), "user": self._user(user_id, None)}

    # -- the person's side -------------------------------------------------------------------

    def _user(self, user_id: int, language_code: str | None) -> dict[str, Any]:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": self.names.get(user_id, "Tester")}
        if language_code:
            user["language_code"] = language_code
        return user

    async def _push(self, update: dict[str, Any]) -> None:
        async with self._changed:
            self.updates.append({"update_id": next(self._update_ids), **update})
            self._changed.notify_all()

    async def send_text(self, user_id: int, text: str, language_code: str | None = None,
                        chat: dict[str, Any] | None = None) -> None:
        """The person types a message (a leading /command gets its bot_command entity); `chat` for groups."""
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat or {"id": user_id, "type": "private", "first_name": "Tester"},
            "from": self._user(user_id, language_code),
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split(" ", 1)[0])}]
        await self._push({"message": message})

    async def edit_text(self, user_id: int, text: str) -> None:
        """The person edits an earlier message (the bot should ignore it)."""
        await self._push({"edited_message": {
            "message_id": next(self._message_ids), "date": int(time.time()), "edit_date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "Tester"},
            "from": self._user(user_id, None), "text": text}})

    async def send_sticker(self, user_id: int) -> None:
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "Tester"},
            "from": self._user(user_id, None),
            "sticker": {"file_id": "s1", "file_unique_id": "u1", "width": 512, "height": 512,
                        "is_animated": False, "is_video": False, "type": "regular"},
        }
        await self._push({"message": message})

    async def press(self, user_id: int, message: dict[str, Any], callback_data: str) -> None:
        """The person taps an inline button under one of the bot's messages."""
        await self._push({"callback_query": {
            "id": str(next(self._message_ids)),
            "from": self._user(user_id, None),
            "chat_instance": "ci-1",
            "message": message,
            "data": callback_data,
        }})

    async def send_media(self, user_id: int, kind: str = "photo", caption: str | None = None,
                         chat: dict[str, Any] | None = None, thread: int | None = None,
                         reply_to: dict[str, Any] | None = None) -> dict[str, Any]:
        """A photo, voice note or document from a person (private chat) or a counsellor (`chat`)."""
        media = {
            "photo": {"photo": [{"file_id": "p1", "file_unique_id": "pu1", "width": 90, "height": 90}]},
            "voice": {"voice": {"file_id": "v1", "file_unique_id": "vu1", "duration": 3}},
            "document": {"document": {"file_id": "d1", "file_unique_id": "du1", "file_name": "letter.pdf"}},
        }[kind]
        message = self._incoming(user_id, chat, thread, reply_to, **media)
        if caption:
            message["caption"] = caption
        await self._push({"message": message})
        return message

    async def group_text(self, user_id: int, group: int, text: str, thread: int | None = None,
                         reply_to: dict[str, Any] | None = None) -> dict[str, Any]:
        """A counsellor writes in the group: in a forum topic (`thread`) or as a reply to a bot message."""
        message = self._incoming(user_id, self._chat(group), thread, reply_to, text=text)
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split(" ", 1)[0])}]
        await self._push({"message": message})
        return message

    def _incoming(self, user_id: int, chat: dict[str, Any] | None, thread: int | None,
                  reply_to: dict[str, Any] | None, **content: Any) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat or self._chat(user_id),
            "from": self._user(user_id, None),
            **content,
        }
        if thread:
            message.update(message_thread_id=thread, is_topic_message=True)
        if reply_to:
            message["reply_to_message"] = reply_to
        return message

    def copies(self, chat_id: int) -> list[dict[str, Any]]:
        """Every copyMessage call into this chat."""
        return [p for m, p in self.calls if m == "copyMessage" and int(p["chat_id"]) == chat_id]

    async def wait_for(self, check: Any, timeout: float = 20.0) -> Any:
        """Wait until `check()` returns something true (after any call the bot makes); returns it."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while not (result := check()):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError("the bot did not do what the test waited for")
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except asyncio.TimeoutError:
                    pass
        return result

    def sent(self, chat_id: int) -> list[dict[str, Any]]:
        """Every message the bot sent to this chat, oldest first."""
        return [p["_message"] for m, p in self.calls if m == "sendMessage" and int(p["chat_id"]) == chat_id]

    def params_of(self, method: str) -> list[dict[str, Any]]:
        return [p for m, p in self.calls if m == method]

    async def wait_sent(self, chat_id: int, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Wait until the bot has sent at least `count` messages to the chat in total."""
        deadline = time.monotonic() + timeout
        async with self._changed:
            while len(self.sent(chat_id)) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"bot sent {len(self.sent(chat_id))} messages, expected {count}")
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except asyncio.TimeoutError:
                    pass
        return self.sent(chat_id)

    # -- webhooks, flood control and timing (added for the webhook workers) -------------------

    async def api_setWebhook(self, params: dict[str, Any]) -> bool:
        return True

    async def api_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        """The last setWebhook's parameters, or no address after a deleteWebhook (or none yet)."""
        last = next((p for m, p in reversed(self.calls) if m in ("setWebhook", "deleteWebhook")), None)
        if last is None or "url" not in last:
            return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        return {"url": last["url"], "has_custom_certificate": False, "pending_update_count": 0,
                "max_connections": last.get("max_connections", 40), "allowed_updates": last.get("allowed_updates")}

    def fail_next(self, method: str, times: int, retry_after: int = 1) -> list[dict[str, Any]]:
        """Answer the next `times` calls of `method` with 429 and `parameters.retry_after`, as Telegram does.

        Returns the list that collects the refused calls' parameters.
        """
        original = getattr(type(self), f"api_{method}").__get__(self)
        refused: list[dict[str, Any]] = []

        async def failing(params: dict[str, Any]) -> Any:
            if len(refused) < times:
                refused.append(params)
                body = {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {retry_after}",
                        "parameters": {"retry_after": retry_after}}
                raise web.HTTPTooManyRequests(text=json.dumps(body), content_type="application/json")
            return await original(params)

        setattr(self, f"api_{method}", failing)
        return refused

    def timed(self, method: str) -> list[tuple[float, dict[str, Any]]]:
        """From now on, note when each call of `method` arrives: (monotonic seconds, parameters)."""
        original = getattr(self, f"api_{method}")
        times: list[tuple[float, dict[str, Any]]] = []

        async def timing(params: dict[str, Any]) -> Any:
            times.append((time.monotonic(), params))
            return await original(params)

        setattr(self, f"api_{method}", timing)
        return times

    def take_updates(self) -> list[dict[str, Any]]:
        """The queued updates, removed from the queue: a test posts them to a webhook instead of polling."""
        taken, self.updates = self.updates, []
        return taken


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, callback_data) for every inline button of a sent message."""
    markup = message.get("reply_markup") or {}
    return [(b["text"], b.get("callback_data", "")) for row in markup.get("inline_keyboard", []) for b in row]
