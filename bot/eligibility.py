"""Eligibility questions: a few taps to an indicative answer and a next step, with nothing kept.

Questions, rules, outcomes and their texts are data (`content/eligibility.yml`). Answers are
answer ids (never typed text) in a Redis hash with a short TTL, deleted as soon as the outcome is
shown; the outcome itself is never stored, and nothing here reaches appointments, handoffs or
counters. It never asks whether the person wants or has decided to return.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bot import flows
from bot.content import ContentError, Source
from bot.core import ROUTES, URGENT_HANDOFF, Reply
from bot.i18n import format_date
from nlu.normalize import normalize

if TYPE_CHECKING:
    from bot.engine import Context

KIND = "elig"  # Redis key kind: avrr:elig:<pseudonym>


@dataclass(frozen=True)
class Rule:
    when: dict[str, frozenset[str]]
    then: str

    def matches(self, answers: dict[str, str]) -> bool:
        return all(answers.get(q) in allowed for q, allowed in self.when.items())


@dataclass
class Rules:
    """One programme's questions, rules, outcomes and texts."""

    programme: str
    questions: list[tuple[str, list[str]]]
    early: list[Rule]
    final: list[Rule]
    default: str
    outcomes: dict[str, dict[str, Any]]
    notes: list[Rule]
    texts: dict[str, dict[str, str]]
    sources: list[Source]
    reviewed: dt.date
    reviewed_by: str = ""
    path: Path = field(default=Path())

    def outcome(self, answers: dict[str, str], finished: bool) -> str | None:
        """The outcome these answers lead to now, or None when more questions are needed."""
        for rule in self.early:
            if rule.matches(answers):
                return rule.then
        if not finished:
            return None
        return next((r.then for r in self.final if r.matches(answers)), self.default)

    def notes_for(self, answers: dict[str, str]) -> list[str]:
        return [r.then for r in self.notes if r.matches(answers)]

    def text(self, lang: str, key: str) -> str:
        return self.texts.get(lang, {}).get(key) or self.texts["en"][key]

    def required_keys(self) -> set[str]:
        keys = {"title", "intro"}
        for qid, answers in self.questions:
            keys |= {f"q.{qid}", f"why.{qid}"} | {f"a.{a}" for a in answers}
        keys |= {f"o.{o}" for o in self.outcomes} | {f"note.{r.then}" for r in self.notes}
        return keys


def _rules(raw: Any, where: str, questions: dict[str, list[str]], targets: set[str], what: str) -> list[Rule]:
    out = []
    for item in raw or []:
        cond = item.get("if") or {}
        then = str(item.get("then") or item.get("note") or "")
        if not cond or not then:
            raise ContentError(f"{where}: every {what} rule needs 'if' and a result")
        when = {}
        for qid, values in cond.items():
            values = values if isinstance(values, list) else [values]
            if any(isinstance(v, bool) for v in values):
                raise ContentError(f"{where}: quote \"yes\" and \"no\" in rules (YAML reads them as true/false)")
            if qid not in questions:
                raise ContentError(f"{where}: {what} rule asks about unknown question {qid!r}")
            unknown = [v for v in values if v not in questions[qid]]
            if unknown:
                raise ContentError(f"{where}: {what} rule uses unknown answer {unknown[0]!r} of {qid!r}")
            when[qid] = frozenset(str(v) for v in values)
        if targets and then not in targets:
            raise ContentError(f"{where}: {what} rule leads to unknown outcome {then!r}")
        out.append(Rule(when, then))
    return out


def load_rules(path: Path) -> Rules:
    """Parse and validate `content/eligibility.yml`."""
    where = path.name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ContentError(f"{where}: not valid YAML ({exc.__class__.__name__})") from None
    questions: list[tuple[str, list[str]]] = []
    for q in data.get("questions") or []:
        answers = q.get("answers") or []
        if any(isinstance(a, bool) for a in answers):
            raise ContentError(f"{where}: quote \"yes\" and \"no\" in answers (YAML reads them as true/false)")
        if not q.get("id") or len(answers) < 2:
            raise ContentError(f"{where}: every question needs an id and at least two answers")
        questions.append((str(q["id"]), [str(a) for a in answers]))
    if not questions or len(questions) > 6:
        raise ContentError(f"{where}: between 1 and 6 questions (every question is a tap)")
    qmap = dict(questions)
    outcomes = {str(k): dict(v or {}) for k, v in (data.get("outcomes") or {}).items()}
    for name, outcome in outcomes.items():
        unknown = [r for r in outcome.get("next") or [] if r not in ROUTES]
        if unknown:
            raise ContentError(f"{where}: outcome {name!r} offers unknown route {unknown[0]!r}")
    default = str(data.get("default", ""))
    if default not in outcomes:
        raise ContentError(f"{where}: default outcome {default!r} is not defined in outcomes")
    sources = [Source(str(s["title"]), s.get("url")) for s in data.get("sources") or [] if s.get("title")]
    if not sources:
        raise ContentError(f"{where}: no sources: every fact needs one")
    if "reviewed" not in data or not data.get("reviewed_by"):
        raise ContentError(f"{where}: 'reviewed' (date) and 'reviewed_by' (role) are required")
    texts = {str(lang): {str(k): str(v) for k, v in (block or {}).items()}
             for lang, block in (data.get("text") or {}).items()}
    rules = Rules(
        programme=str(data.get("programme", "")),
        questions=questions,
        early=_rules(data.get("early"), where, qmap, set(outcomes), "early"),
        final=_rules(data.get("final"), where, qmap, set(outcomes), "final"),
        default=default,
        outcomes=outcomes,
        notes=_rules(data.get("notes"), where, qmap, set(), "note"),
        texts=texts,
        sources=sources,
        reviewed=dt.date.fromisoformat(str(data["reviewed"])),
        reviewed_by=str(data["reviewed_by"]),
        path=path,
    )
    missing = sorted(rules.required_keys() - set(texts.get("en", {})))
    if missing:
        raise ContentError(f"{where}: text.en is missing {', '.join(missing)}")
    return rules


def check(path: Path, languages: list[str]) -> list[str]:
    """Problems in the eligibility file, one line each, for `avrr content check`."""
    if not path.exists():
        return [f"error: {path.name} is missing (the eligibility questions have no rules)"]
    try:
        rules = load_rules(path)
    except ContentError as exc:
        return [f"error: {exc}"]
    problems = []
    for lang in languages:
        missing = sorted(rules.required_keys() - set(rules.texts.get(lang, {})))
        if missing:
            problems.append(f"error: {path.name}: text.{lang} is missing {', '.join(missing[:5])}"
                            + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
    return problems


class Eligibility:
    """The capability: started by the `eligibility` route, driven by `e:` buttons and typed answers."""

    routes = ("eligibility",)
    prefix = "e"

    def __init__(self, rules: Rules, ttl_seconds: int) -> None:
        self.rules = rules
        self.ttl = ttl_seconds

    # -- entry points the engine calls -------------------------------------------------

    async def on_route(self, ctx: Context, route: str) -> list[Reply]:
        """Start (or start again) from the first question."""
        await ctx.store.drop_flow(KIND, ctx.pid)
        await ctx.store.save_flow(KIND, ctx.pid, {"step": "0"}, self.ttl)
        label = flows.LABELS["eligibility"]
        about = ctx.button(ctx._(label), "p:eligibility:0")  # the information page, not the questions
        intro = ctx.reply(self.rules.text(ctx.lang, "intro"), title=self.rules.text(ctx.lang, "title"),
                          buttons=[[about]])
        return [intro, self._question(ctx, 0)]

    async def on_button(self, ctx: Context, arg: str) -> list[Reply]:
        """`a:<question>:<answer>` answers, `w:<question>` explains why, `r` starts again."""
        kind, _, rest = arg.partition(":")
        if kind == "r":
            return await self.on_route(ctx, "eligibility")
        state = await ctx.store.load_flow(KIND, ctx.pid)
        if not state:
            return [ctx.reply(ctx._("Your answers have expired: I keep them only for a short time. "
                                    "Let's start again.")), *await self.on_route(ctx, "eligibility")]
        step = int(state.get("step", "0"))
        qid, answers = self.rules.questions[min(step, len(self.rules.questions) - 1)]
        if kind == "w":
            return [ctx.reply(self.rules.text(ctx.lang, f"why.{qid}")), self._question(ctx, step)]
        asked, _, answer = rest.partition(":")
        if kind != "a" or asked != qid or answer not in answers:
            return [self._question(ctx, step)]  # an old or damaged button: ask the current question again
        return await self._answer(ctx, state, step, answer)

    async def on_text(self, ctx: Context, text: str) -> list[Reply] | None:
        """A typed answer ("oui", "2") to the current question, or None to let the NLU handle it."""
        state = await ctx.store.load_flow(KIND, ctx.pid)
        if not state:
            return None
        step = int(state.get("step", "0"))
        answer = self.typed_answer(ctx.lang, step, text)
        return await self._answer(ctx, state, step, answer) if answer else None

    # -- the flow ------------------------------------------------------------------------

    def typed_answer(self, lang: str, step: int, text: str) -> str | None:
        """Map typed text to an answer id of question `step`: its number, its label or a known word."""
        _, answers = self.rules.questions[step]
        norm = normalize(text)
        if norm.isdigit() and 1 <= int(norm) <= len(answers):
            return answers[int(norm) - 1]
        tokens = norm.split()
        best: dict[str, int] = {}
        for answer in answers:
            phrases = [self.rules.text(lang, f"a.{answer}"), self.rules.text("en", f"a.{answer}")]
            for source in (lang, "en"):
                words = self.rules.texts.get(source, {}).get(f"w.{answer}", "")
                phrases += words.split(",")
            for phrase in phrases:
                ptoks = normalize(phrase).split()
                n = len(ptoks)
                if n and any(tokens[i : i + n] == ptoks for i in range(len(tokens) - n + 1)):
                    best[answer] = max(best.get(answer, 0), n)
        if not best:
            return None
        top = max(best.values())
        winners = [a for a, n in best.items() if n == top]
        return winners[0] if len(winners) == 1 else None

    async def _answer(self, ctx: Context, state: dict[str, str], step: int, answer: str) -> list[Reply]:
        qid, _ = self.rules.questions[step]
        answers = {k[2:]: v for k, v in state.items() if k.startswith("a.")}
        answers[qid] = answer
        finished = step + 1 >= len(self.rules.questions)
        outcome = self.rules.outcome(answers, finished)
        if outcome:
            await ctx.store.drop_flow(KIND, ctx.pid)  # answers end here; the outcome is never stored
            return self._outcome(ctx, outcome, answers)
        await ctx.store.save_flow(KIND, ctx.pid, {f"a.{qid}": answer, "step": str(step + 1)}, self.ttl)
        return [self._question(ctx, step + 1)]

    def _question(self, ctx: Context, step: int) -> Reply:
        qid, answers = self.rules.questions[step]
        _ = ctx._
        rows = [[ctx.button(self.rules.text(ctx.lang, f"a.{a}"), f"e:a:{qid}:{a}")] for a in answers]
        if len(answers) <= 3:
            rows = [[b for row in rows for b in row]]
        rows.append([ctx.button(_("Why are you asking?"), f"e:w:{qid}")])
        rows.append([ctx.button(_("I'd rather talk to a person"), "t:human")])
        counter = _("Question {number} of {total}").format(number=step + 1, total=len(self.rules.questions))
        return ctx.reply(f"{self.rules.text(ctx.lang, f'q.{qid}')}\n\n{counter}", buttons=rows)

    def _outcome(self, ctx: Context, outcome: str, answers: dict[str, str]) -> list[Reply]:
        _ = ctx._
        parts = [self.rules.text(ctx.lang, f"o.{outcome}")]
        parts += [self.rules.text(ctx.lang, f"note.{n}") for n in self.rules.notes_for(answers)]
        sources = "; ".join(flows.source_label(s) for s in self.rules.sources)
        parts.append(_("Source: {sources}").format(sources=sources) + "\n"
                     + _("Checked on {date}").format(date=format_date(self.rules.reviewed, ctx.lang)))
        spec = self.rules.outcomes[outcome]
        person = flows.LABELS["human"]  # urgent outcomes ask for an urgent handoff under the same label
        rows = [[ctx.button(_(person), URGENT_HANDOFF) if route == "human" and spec.get("urgent")
                 else flows.route_button(ctx, route)] for route in spec.get("next") or []]
        rows.append([ctx.button(_("Main menu"), "m")])
        replies = [ctx.reply("\n\n".join(parts), title=self.rules.text(ctx.lang, "title"), buttons=rows)]
        if spec.get("urgent"):
            replies = flows.offices(ctx, ctx.engine.content.programme, emergency=True) + replies
        return replies
