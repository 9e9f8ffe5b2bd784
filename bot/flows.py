"""The first flows: welcome, menu, help, language, small talk, fallback and content answers.

Each flow is a small function from a `Context` to the replies it shows. Every user-facing
string is an English msgid for gettext; translations live in `locales/`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlparse

from bot import links
from bot.core import URGENT_HANDOFF, Button, Reply
from bot.i18n import N_, country_name, format_date, native_name

if TYPE_CHECKING:
    from bot.content import Country, Programme, Source, Topic
    from bot.engine import Context


# Button labels for routes, shown in menus, suggestions and "related" rows.
LABELS: dict[str, str] = {
    "about": N_("What is voluntary return?"),
    "eligibility": N_("Who can apply?"),
    "process": N_("How does it work?"),
    "cost": N_("Does it cost anything?"),
    "documents": N_("Documents"),
    "travel": N_("The journey"),
    "arrival": N_("Arriving home"),
    "reintegration": N_("Help after return"),
    "vulnerable": N_("Special support"),
    "voluntariness": N_("Is it my choice?"),
    "confidentiality": N_("Who is told?"),
    "asylum": N_("My asylum case"),
    "alternatives": N_("Other options"),
    "coi": N_("My country"),
    "contact": N_("Contact the office"),
    "languages_offered": N_("Languages and interpreters"),
    "book": N_("Book an appointment"),
    "appointment_status": N_("My appointment"),
    "cancel": N_("Cancel my appointment"),
    "human": N_("Talk to a person"),
    "set_language": N_("Language"),
    "privacy": N_("Privacy"),
    "forget": N_("Delete my data"),
    "emergency": N_("I am in danger"),
    "help": N_("Help"),
}
# Button labels for the sections of a country file.
SECTION_LABELS: dict[str, str] = {
    "presence": N_("IOM in the country"),
    "reintegration": N_("Help after return"),
    "arrival": N_("Arrival and travel home"),
    "documents": N_("Documents"),
    "health": N_("Health care"),
    "safety": N_("Safety"),
    "languages": N_("Languages"),
}
MENU_ROUTES = ("about", "eligibility", "process", "reintegration", "coi", "book", "contact", "human", "privacy")
NO_SUGGEST = {"out_of_scope", "greet", "thanks", "goodbye", "help", "set_language"}


def route_button(ctx: Context, route: str) -> Button:
    return ctx.button(ctx._(LABELS.get(route, route)), f"t:{route}")


def menu_buttons(ctx: Context) -> list[list[Button]]:
    buttons = [route_button(ctx, r) for r in MENU_ROUTES]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    last = [ctx.button("🌐 " + ctx._("Language"), "L")]
    share = share_url(ctx)
    if share:
        last.append(Button(label="📤 " + ctx._("Share this assistant"), url=share))
    rows.append(last)
    return rows


def share_url(ctx: Context) -> str | None:
    """Telegram's share dialog with a link in the person's language: no campaign, nothing about them."""
    bot = ctx.engine.bot_username
    if not bot:
        return None
    link = links.url(bot, links.encode(links.Link(lang=ctx.lang)))
    text = ctx._("Questions about voluntary return? This assistant answers in your language.")
    return f"https://t.me/share/url?{urlencode({'url': link, 'text': text})}"


def main_menu(ctx: Context) -> list[Reply]:
    """The main menu: every capability one tap away."""
    return [ctx.reply(ctx._("What would you like to know? Choose a topic or type your question."),
                      buttons=menu_buttons(ctx))]


def welcome(ctx: Context, unsure_language: bool) -> list[Reply]:
    """First contact: who we are, what we keep, and where to start."""
    _ = ctx._
    text = "\n\n".join([
        _("Hello! I answer questions about voluntary return and reintegration: going back to your "
          "country with help, if you choose to."),
        _("Asking questions here creates no obligation and changes nothing in any procedure. You can "
          "talk to a person at any time."),
        _("Privacy: I do not keep what you type. I keep your language choice for a while, under a "
          "code instead of your name. Type /forget to delete it."),
    ])
    rows = menu_buttons(ctx)
    rows.insert(0, [ctx.button(_("More about privacy"), "t:privacy")])
    replies = [ctx.reply(text, buttons=rows)]
    if unsure_language:
        replies.extend(language_picker(ctx))
    return replies


def help_text(ctx: Context) -> list[Reply]:
    """What the assistant can do, in plain words."""
    _ = ctx._
    text = "\n".join([
        _("You can type a question in your own words, for example: \"Who can apply?\" or \"Is it free?\"."),
        _("You can also tap the buttons."),
        _("Commands: /start – start again, /menu – the menu, /language – change language, "
          "/privacy – what is kept, /forget – delete your data."),
    ])
    return [ctx.reply(text, buttons=menu_buttons(ctx))]


def language_picker(ctx: Context) -> list[Reply]:
    """Every supported language, named in itself."""
    buttons = [ctx.button(native_name(code), f"l:{code}") for code in ctx.languages]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    return [ctx.reply(ctx._("Choose your language:"), buttons=rows, keep_order=True)]


def language_set(ctx: Context) -> list[Reply]:
    """Confirm a language change in the new language."""
    text = ctx._("From now on I will answer in {language}.").format(language=native_name(ctx.lang, False))
    return [ctx.reply(text, buttons=menu_buttons(ctx))]


def small_talk(ctx: Context, route: str) -> list[Reply]:
    """Greetings, thanks and goodbyes: short, warm, and back to the point."""
    _ = ctx._
    if route == "greet":
        return [ctx.reply(_("Hello! How can I help you?"), buttons=menu_buttons(ctx))]
    if route == "thanks":
        return [ctx.reply(_("You are welcome. Is there anything else I can help with?"),
                          buttons=menu_buttons(ctx))]
    return [ctx.reply(_("Goodbye. You can come back at any time: just type /start."))]


def fallback(ctx: Context, ranking: list[tuple[str, float]], out_of_scope: bool,
             offer_person: bool = False) -> list[Reply]:
    """Not sure what was meant: offer the two likeliest topics and a person (first, after two misses)."""
    _ = ctx._
    text = (_("I can only help with questions about voluntary return and reintegration.") if out_of_scope
            else _("Sorry, I am not sure I understood."))
    suggestions = [r for r, _c in ranking if r not in NO_SUGGEST and r in LABELS][:2]
    rows = [[route_button(ctx, r)] for r in suggestions]
    if suggestions:
        text += "\n" + _("Did you mean one of these?")
    if offer_person:
        text += "\n\n" + _("I could not help you twice in a row. A counsellor can answer you in person.")
        rows.insert(0, [route_button(ctx, "human")])
    else:
        rows.append([route_button(ctx, "human")])
    rows.append([ctx.button(_("Main menu"), "m")])
    return [ctx.reply(text, buttons=rows)]


def content_answer(ctx: Context, topic: Topic, page: int, page_action: str) -> list[Reply]:
    """One page of a content file, ending with its source and review date."""
    _ = ctx._
    text, fell_back = topic.text(ctx.lang)
    page = max(0, min(page, len(text.pages) - 1))
    parts = []
    if fell_back:
        parts.append(_("This information is not yet available in your language. Here it is in English."))
    parts.append(text.pages[page])
    if len(text.pages) > 1:
        parts.append(_("Page {page} of {pages}").format(page=page + 1, pages=len(text.pages)))
    sources = "; ".join(source_label(s) for s in topic.sources)
    parts.append(_("Source: {sources}").format(sources=sources) + "\n"
                 + _("Checked on {date}").format(date=format_date(text.reviewed, ctx.lang)))
    if (ctx.today - text.reviewed).days > ctx.review_max_age_days:
        parts.append(_("This may be out of date. Please ask a counsellor."))
    rows: list[list[Button]] = []
    if page + 1 < len(text.pages):
        rows.append([ctx.button(_("More") + " ▸", f"p:{page_action}:{page + 1}")])
    related = [route_button(ctx, r) for r in topic.related if r in LABELS][:4]
    rows.extend(related[i : i + 2] for i in range(0, len(related), 2))
    last = [route_button(ctx, "human")] + ([] if "book" in topic.related else [route_button(ctx, "book")])
    rows += [last, [ctx.button(_("Main menu"), "m")]]
    return [ctx.reply("\n\n".join(parts), title=text.title, buttons=rows)]


def source_label(source: Source) -> str:
    """'Title (iom.int, 2025-09-14)': the title, where it lives and its own date, short enough for a phone."""
    where = [urlparse(source.url).netloc.removeprefix("www.") or source.url] if source.url else []
    where += [source.date] if source.date else []
    return f"{source.title} ({', '.join(where)})" if where else source.title


def no_content(ctx: Context) -> list[Reply]:
    """Honest about a gap: nothing checked to say, so a person instead."""
    text = ctx._("I do not have checked information on this yet. A counsellor can help you.")
    return [ctx.reply(text, buttons=[[route_button(ctx, "human")], [ctx.button(ctx._("Main menu"), "m")]])]


def ask_country(ctx: Context) -> list[Reply]:
    return [ctx.reply(ctx._("Which country do you want to know about? Type its name."))]


def choose_country(ctx: Context, codes: list[str]) -> list[Reply]:
    """An ambiguous name ("Congo"): ask, never guess."""
    buttons = [[ctx.button(country_name(code, ctx.lang), f"c:{code}")] for code in codes]
    return [ctx.reply(ctx._("Which country do you mean?"), buttons=buttons, keep_order=True)]


def country_overview(ctx: Context, country: Country) -> list[Reply]:
    """A country: first whether returns are restricted, then its sections as buttons."""
    _ = ctx._
    name = country_name(country.code, ctx.lang)
    replies = []
    if country.returns.status != "open":
        text = country.returns.text.get(ctx.lang)
        notice = ""
        if text is None:
            text = country.returns.text["en"]
            notice = _("This information is not yet available in your language. Here it is in English.") + "\n\n"
        sources = "; ".join(source_label(s) for s in country.returns.sources)
        body = (notice + "⚠️ " + text + "\n\n" + _("Source: {sources}").format(sources=sources))
        replies.append(ctx.reply(body, title=name))
    rows = [[ctx.button(_(SECTION_LABELS[key]), f"s:{country.code}.{key}")] for key in country.sections]
    rows.append([route_button(ctx, "human"), ctx.button(_("Main menu"), "m")])
    replies.append(ctx.reply(_("What would you like to know about {country}?").format(country=name), buttons=rows))
    return replies


def no_country_content(ctx: Context, code: str) -> list[Reply]:
    text = ctx._("I do not have checked information about {country} yet. A counsellor can help you.").format(
        country=country_name(code, ctx.lang))
    return [ctx.reply(text, buttons=[[route_button(ctx, "human")], [ctx.button(ctx._("Main menu"), "m")]])]


def offices(ctx: Context, programme: Programme, emergency: bool = False) -> list[Reply]:
    """The deployment's offices (or emergency contacts) exactly as content/office.yml has them."""
    entries = programme.emergency if emergency else programme.offices
    blocks = []
    for office in entries:
        lines = [office.name, office.address, office.hours, office.phone, office.email]
        if office.languages:
            lines.append(ctx._("Languages: {languages}").format(
                languages=", ".join(native_name(code, False) for code in office.languages)))
        blocks.append("\n".join(line for line in lines if line))
    return [ctx.reply("\n\n".join(blocks))] if blocks else []


def contact(ctx: Context, topic: Topic | None, programme: Programme) -> list[Reply]:
    """The general contact content, then this deployment's offices."""
    replies = content_answer(ctx, topic, 0, "contact") if topic else []
    return offices(ctx, programme) + replies


def human(ctx: Context, topic: Topic | None, programme: Programme) -> list[Reply]:
    """Until live handoff exists, say so plainly and show how to reach the office."""
    return [ctx.reply(ctx._("Live chat with a counsellor is not available here yet. "
                            "You can contact the counselling office directly:")), *contact(ctx, topic, programme)]


def emergency(ctx: Context, programme: Programme) -> list[Reply]:
    """Danger comes first: what to do now, emergency contacts, and a person."""
    _ = ctx._
    text = "\n\n".join([
        _("If you are in danger right now, call your local emergency number or go to a safe public place."),
        _("You are not alone. Counsellors help people in your situation, including victims of trafficking "
          "and children alone."),
    ])
    replies = [ctx.reply(text)]
    replies += offices(ctx, programme, emergency=True)
    person = LABELS["human"]  # the same label, but the button asks for an urgent handoff
    replies[-1].buttons = [[ctx.button(ctx._(person), URGENT_HANDOFF)], [route_button(ctx, "vulnerable")]]
    return replies


def privacy(ctx: Context) -> list[Reply]:
    """What is kept, for how long, and who sees it."""
    _ = ctx._
    text = "\n\n".join([
        _("I do not store what you type."),
        ctx.ngettext("I keep only your language choice and where you are in a conversation, under a code "
                     "instead of your name or number, for {days} day after your last message.",
                     "I keep only your language choice and where you are in a conversation, under a code "
                     "instead of your name or number, for {days} days after your last message.",
                     ctx.session_days).format(days=ctx.session_days),
        _("I do not share anything with the police, an embassy or any government."),
        _("Type /forget at any time to delete everything I keep about you."),
    ])
    if ctx.engine.desk:  # live chats exist: say where those messages go
        text += "\n\n" + _("If you chat with a counsellor here, your messages go to the counselling office, "
                            "which keeps them under its own rules.")
    return [ctx.reply(text, title=_("Privacy"), buttons=[[route_button(ctx, "forget")],
                                                        [ctx.button(_("Main menu"), "m")]])]


def forgotten(ctx: Context) -> list[Reply]:
    return [ctx.reply(ctx._("Done: I deleted everything I kept about you. Type /start to begin again."))]


def not_text(ctx: Context) -> list[Reply]:
    return [ctx.reply(ctx._("I can only read text messages. Please type your question or tap a button."),
                      buttons=menu_buttons(ctx))]


def expired(ctx: Context) -> list[Reply]:
    return [ctx.reply(ctx._("This button has expired. Here is the menu again."), buttons=menu_buttons(ctx))]


def unknown_command(ctx: Context) -> list[Reply]:
    return [ctx.reply(ctx._("I do not know that command.")), *help_text(ctx)]


def slow_down(ctx: Context) -> list[Reply]:
    return [ctx.reply(ctx._("You are sending many messages. Please wait a minute, then try again."))]


def too_long(ctx: Context) -> list[Reply]:
    return [ctx.reply(ctx._("Your message is too long for me. Please ask in a few words."))]


def error(ctx: Context) -> list[Reply]:
    return [ctx.reply(ctx._("Sorry, something went wrong on my side. Please try again."),
                      buttons=[[ctx.button(ctx._("Main menu"), "m")]])]
