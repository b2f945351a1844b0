"""Accessibility as GOV.UK asks it (WCAG 2.2 AA): axe-core over every portal and staff page, in kk, ru and en, at
320 and 1280 px, with no sideways scroll at 320 px and every control reached by the keyboard with its focus shown.

Pages are data: a staff page is one more `Screen` appended to PAGES, whose `who` names a session that a function
appended to WORLD_EXTRAS signs in (with `signed_in(world, who, user)`) and whose `path` finds its ids in the World.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import STAFF_ROLES, ChannelApiKey, ChannelClient, Role, User
from applications import services
from applications.models import Application, Channel, Service, Status
from tests.factories import CentreFactory, OrganisationFactory
from tests.sandbox import Sandbox

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

LANGUAGES = ("kk", "ru", "en")
WIDTHS = (320, 1280)
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
BLOCKING_IMPACTS = {"serious", "critical"}

# axe's "needs review" items that stay, each with why it is not a problem here. Keyed by rule id.
REVIEWED_INCOMPLETE: dict[str, str] = {}


@dataclass
class World:
    """Who is signed in as whom, and the applications each page is about."""

    base_url: str
    sessions: dict[str, str] = field(default_factory=dict)  # who -> session cookie value
    applications: dict[str, str] = field(default_factory=dict)  # name -> application id
    people: dict[str, dict] = field(default_factory=dict)
    consent_codes: dict[str, str] = field(default_factory=dict)  # phone -> the last code sent

    def application(self, name: str, suffix: str = "") -> str:
        return f"/my/applications/{self.applications[name]}/{suffix}"


@dataclass(frozen=True)
class Screen:
    name: str
    path: Callable[[World], str]
    shows: str  # a selector found only in the state under test: the page checked is the page meant
    who: str | None = None  # a key of World.sessions; None: not signed in
    act: Callable[["object", World], None] | None = None  # brings the page to the state under test


def _submit(page, world):
    page.click("main form[method=post] button[type=submit] >> nth=0")
    page.wait_for_load_state()


def _choose_b_and_continue(page, world):
    page.check("input[value=B]")
    _submit(page, world)
    page.wait_for_url(re.compile(r"/check/$"))


def _choose_loss_and_continue(page, world):
    page.check("input[value=loss]")
    _submit(page, world)
    page.wait_for_url(re.compile(r"/check/$"))


def _wrong_consent_code(page, world):
    right = world.consent_codes[world.people["applicant"]["phone"]]
    page.fill("#id_code", "000000" if right != "000000" else "111111")
    _submit(page, world)


def _ask_for_a_sign_in_code(page, world):
    page.fill("#id_iin", world.people["visitor"]["iin"])
    _submit(page, world)
    page.wait_for_url(re.compile(r"/signin/code/"))


PAGES: list[Screen] = [
    Screen("home", lambda w: "/", ".service-list"),
    Screen("foreign exchange", lambda w: "/apply/foreign_exchange/", "main .back-link"),
    Screen("sign in", lambda w: "/signin/", "#id_iin"),
    Screen("sign in, with an error", lambda w: "/signin/", ".error-summary", act=_submit),
    Screen("sign-in code", lambda w: "/signin/", "#id_code", act=_ask_for_a_sign_in_code),
    Screen("not found", lambda w: "/no-such-page/", "main a[href='/']"),
    Screen("apply: categories", lambda w: "/apply/first_issue/", "input[value=B]", "applicant"),
    Screen("apply: categories, with an error", lambda w: "/apply/first_issue/",
           ".error-summary a[href='#id_categories_0']", "applicant", _submit),
    Screen("apply: check answers", lambda w: "/apply/first_issue/", ".registry-list", "applicant",
           _choose_b_and_continue),
    Screen("replace: reason, with an error", lambda w: "/apply/replacement/", ".error-summary", "applicant", _submit),
    Screen("replace: check answers", lambda w: "/apply/replacement/", ".registry-list", "applicant",
           _choose_loss_and_continue),
    Screen("consent: code sent", lambda w: w.application("consent pending", "consent/"), "#id_code", "applicant"),
    Screen("consent: wrong code", lambda w: w.application("consent pending", "consent/"), "#id_code_error",
           "applicant", _wrong_consent_code),
    Screen("consent: code on its way", lambda w: w.application("code on its way", "consent/"),
           "main form[method=get] button", "waiting"),
    Screen("application: consent pending", lambda w: w.application("consent pending"), "a[href$='/consent/']",
           "applicant"),
    Screen("application: refused on several checks", lambda w: w.application("refused"),
           "[data-testid=refusal] section:nth-of-type(3)", "applicant"),
    Screen("application: cancelled", lambda w: w.application("cancelled"), ".status-cancelled", "applicant"),
    Screen("application: a registry is down", lambda w: w.application("registry down"), "[data-testid=waiting]",
           "outage"),
    Screen("application: eligible", lambda w: w.application("eligible"), "a[href$='/form/']", "eligible"),
    Screen("application form", lambda w: w.application("eligible", "form/"), "#id_pickup_tson", "eligible"),
    Screen("application form, with errors", lambda w: w.application("eligible", "form/"), "#id_phone_error",
           "eligible", _submit),
    Screen("cancel: confirmation", lambda w: w.application("eligible", "cancel/"), "main form .button--warning",
           "eligible"),
    Screen("application: submitted, with a number", lambda w: w.application("submitted"), "[data-testid=next-step]",
           "submitted"),
    Screen("application: a bank's, seen by the citizen", lambda w: w.application("bank's"), "[data-testid=channel]",
           "bank customer"),
    Screen("my applications", lambda w: "/my/applications/", ".card:nth-of-type(3)", "applicant"),
    Screen("who accessed my data", lambda w: "/my/access-log/", ".access-entry", "applicant"),
]

# Functions that add to the world what further pages need (staff users and what they work on).
WORLD_EXTRAS: list[Callable[[World, Sandbox], None]] = []

# --- the staff pages --------------------------------------------------------------------------------------------

def _staff(world: World, sandbox: Sandbox) -> None:
    from tests.factories import StaffFactory

    for role in STAFF_ROLES:
        signed_in(world, f"staff:{role}", StaffFactory(role=role, is_staff=role == Role.ADMIN))


WORLD_EXTRAS.append(_staff)
PAGES += [
    Screen("staff sign in", lambda w: "/staff/signin/", "#id_username"),
    Screen("staff sign in, with an error", lambda w: "/staff/signin/", ".error-summary", act=_submit),
    *(Screen(f"staff home: {role}", lambda w: "/staff/", "[data-testid=role]", f"staff:{role}")
      for role in STAFF_ROLES),
]


# --- the world the pages show ---------------------------------------------------------------------------------


def signed_in(world: World, who: str, user: User) -> None:
    client = Client()
    client.force_login(user)
    world.sessions[who] = client.cookies[settings.SESSION_COOKIE_NAME].value


def _citizen(sandbox: Sandbox, world: World, who: str, **facts) -> tuple[dict, User]:
    person = sandbox.add(**facts)
    world.people[who] = person
    user = User.objects.create(username=f"iin-{person['iin']}", iin=person["iin"], role=Role.CITIZEN)
    signed_in(world, who, user)
    return person, user


def _open(user_or_client, person: dict, service=Service.FIRST_ISSUE, **options) -> Application:
    """Open an application as the portal does; the consent request runs at commit (in-process here)."""
    channel = Channel.BANK if isinstance(user_or_client, ChannelClient) else Channel.PORTAL
    return services.start_application(service=service, iin=person["iin"], categories=["B"], channel=channel,
                                      actor=user_or_client, **options)


def _consent(application: Application, sandbox: Sandbox, person: dict, actor) -> Application:
    code = sandbox.consent_code(person["phone"])
    application = Application.objects.select_related("consent").get(pk=application.pk)
    services.confirm_consent(application=application, code=code, actor=actor)
    return Application.objects.get(pk=application.pk)


def build_world(sandbox: Sandbox, live_server, monkeypatch) -> World:
    world = World(base_url=live_server.url)
    centre = CentreFactory(code="ast-tson-1", name="Есіл ауданының ХҚКО", name_ru="ЦОН района Есиль",
                           name_en="Public Service Centre of Yesil District", city="Астана", city_en="Astana")
    world.people["visitor"] = sandbox.add()

    # Refused on three checks of phase 1 at once; then a cancelled one; then one waiting for its code.
    person, applicant = _citizen(sandbox, world, "applicant", birth_date="2012-05-05",
                                 exam_ban={"article": "608-6", "until": "2099-12-31"},
                                 licence={"number": "AB1", "categories": ["B"], "issued_on": "2020-01-01",
                                          "expires_on": "2099-01-01", "status": "valid"})
    refused = _consent(_open(applicant, person), sandbox, person, applicant)
    assert refused.status == Status.REFUSED and refused.checks.filter(outcome="failed").count() == 3
    world.applications["refused"] = str(refused.pk)
    sandbox.update(person, birth_date="1990-01-01", exam_ban=None, licence=None)
    cancelled = services.cancel_application(application=_open(applicant, person), actor=applicant)
    world.applications["cancelled"] = str(cancelled.pk)
    pending = _open(applicant, person)
    world.consent_codes[person["phone"]] = sandbox.consent_code(person["phone"])
    world.applications["consent pending"] = str(pending.pk)

    person, waiting = _citizen(sandbox, world, "waiting")
    with monkeypatch.context() as queue_only:
        queue_only.setattr("applications.services.intake._ask_for_consent", lambda application_id: None)
        world.applications["code on its way"] = str(_open(waiting, person).pk)

    person, outage = _citizen(sandbox, world, "outage", faults={"erap": "error"})
    down = _consent(_open(outage, person), sandbox, person, outage)
    assert down.status == Status.CHECKS_RUNNING
    world.applications["registry down"] = str(down.pk)

    person, eligible_user = _citizen(sandbox, world, "eligible")
    eligible = _consent(_open(eligible_user, person), sandbox, person, eligible_user)
    assert eligible.status == Status.ELIGIBLE
    world.applications["eligible"] = str(eligible.pk)

    person, submitter = _citizen(sandbox, world, "submitted")
    submitted = _consent(_open(submitter, person), sandbox, person, submitter)
    submitted = services.submit_application(application=submitted, phone="+77010000001", language="kk",
                                            pickup_tson=centre.code, actor=submitter)
    assert submitted.number
    world.applications["submitted"] = str(submitted.pk)

    person, _customer = _citizen(sandbox, world, "bank customer")
    api_key, _key = ChannelApiKey.objects.create_key(name="Halyk Bank",
                                                     organisation=OrganisationFactory(name="Halyk Bank"))
    bank = ChannelClient(api_key)
    world.applications["bank's"] = str(_consent(_open(bank, person), sandbox, person, bank).pk)
    for extra in WORLD_EXTRAS:
        extra(world, sandbox)
    return world


# --- what each page must pass ---------------------------------------------------------------------------------

FOCUSABLE = ("a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), "
             "textarea:not([disabled]), [tabindex]:not([tabindex='-1'])")

MARK_FOCUSABLE = """(selector) => {
  const shown = (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const controls = Array.from(document.querySelectorAll(selector)).filter(shown);
  controls.forEach((el, i) => el.setAttribute('data-kb', String(i)));
  return controls.map((el, i) => ({kb: String(i), radio: el.type === 'radio' ? el.name : null,
                                   html: el.outerHTML.slice(0, 120)}));
}"""

FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0
                  && style.outlineColor !== 'rgba(0, 0, 0, 0)';
  return {kb: el.getAttribute('data-kb'), visible: outline || style.boxShadow !== 'none',
          html: el.outerHTML.slice(0, 120)};
}"""


def keyboard_problems(page) -> list[str]:
    """Tab from the top of the page: every control is reached (one radio per group) and shows its focus."""
    controls = page.evaluate(MARK_FOCUSABLE, FOCUSABLE)
    # Start from the top of the document, wherever the page put the focus (an error summary takes it).
    page.evaluate("""() => { const body = document.body; body.setAttribute('tabindex', '-1'); body.focus();
                             body.removeAttribute('tabindex'); window.scrollTo(0, 0); }""")
    reached, problems = set(), []
    for _ in range(len(controls) + 3):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None or focused["kb"] in reached:
            break
        reached.add(focused["kb"])
        if not focused["visible"]:
            problems.append(f"focus not visible on {focused['html']}")
    groups_reached = {c["radio"] for c in controls if c["radio"] and c["kb"] in reached}
    for control in controls:
        if control["kb"] not in reached and not (control["radio"] and control["radio"] in groups_reached):
            problems.append(f"not reached by Tab: {control['html']}")
    return problems


def axe_problems(page, axe) -> list[str]:
    results = axe.run(page, options={"runOnly": {"type": "tag", "values": AXE_TAGS},
                                     "resultTypes": ["violations", "incomplete"]}).response
    assert results["passes"], "axe checked nothing"
    problems = []
    for violation in results["violations"]:
        if violation["impact"] in BLOCKING_IMPACTS:
            targets = "; ".join(" ".join(node["target"]) for node in violation["nodes"][:3])
            problems.append(f"{violation['impact']} {violation['id']}: {violation['help']} [{targets}]")
    for item in results["incomplete"]:
        if item["id"] not in REVIEWED_INCOMPLETE:
            targets = "; ".join(" ".join(node["target"]) for node in item["nodes"][:3])
            problems.append(f"needs review, not explained: {item['id']}: {item['help']} [{targets}]")
    return problems


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_portal_and_staff_page_passes_axe_at_320_and_1280_px(language, browser, sandbox, live_server,
                                                                    monkeypatch):
    from axe_playwright_python.sync_playwright import Axe

    world = build_world(sandbox, live_server, monkeypatch)
    axe = Axe()
    contexts: dict[str | None, object] = {}

    def page_for(who):
        if who not in contexts:
            context = browser.new_context(locale={"kk": "kk-KZ", "ru": "ru-RU", "en": "en-GB"}[language])
            context.set_default_timeout(15_000)
            cookies = [{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": world.base_url}]
            if who is not None:
                cookies.append({"name": settings.SESSION_COOKIE_NAME, "value": world.sessions[who],
                                "url": world.base_url})
            context.add_cookies(cookies)
            contexts[who] = context.new_page()
        return contexts[who]

    problems = []
    try:
        for screen in PAGES:
            page = page_for(screen.who)
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 900})
                page.goto(world.base_url + screen.path(world))
                if screen.act:
                    screen.act(page, world)
                where = f"{screen.name} [{language}, {width} px]"
                assert page.locator("html").get_attribute("lang") == language, where
                assert page.locator(screen.shows).count() >= 1, f"{where}: not the page meant ({page.url})"
                assert page.locator("h1").count() == 1, f"{where}: not one h1"
                problems += [f"{where}: {problem}" for problem in axe_problems(page, axe)]
                if width == 320:
                    if page.evaluate("() => document.scrollingElement.scrollWidth "
                                     "> document.scrollingElement.clientWidth"):
                        problems.append(f"{where}: scrolls sideways")
                    problems += [f"{where}: {problem}" for problem in keyboard_problems(page)]
    finally:
        for page in contexts.values():
            page.context.close()
    assert not problems, "\n".join(problems)
