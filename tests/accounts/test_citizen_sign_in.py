"""The citizen sign-in tells nobody which IINs have a phone, sends a new code at most once a minute, and limits
attempts per IP as well as per IIN. The SMS gateway is the live sandbox."""

import datetime
import re
import threading

import pytest
from django.db import connection

from accounts import portal
from accounts.models import SignInCode
from tests.factories import make_iin

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def code_in(sandbox, phone) -> str:
    return re.search(r"\b(\d{6})\b", sandbox.sms_for(phone)[0]["text"]).group(1)


def an_earlier_code(iin: str, *, seconds: int) -> None:
    """Move the IIN's codes back in time, as if they had been asked for `seconds` ago."""
    SignInCode.objects.filter(iin=iin).update(created_at=SignInCode.objects.get(iin=iin, used_at__isnull=True)
                                              .created_at - datetime.timedelta(seconds=seconds))


def test_the_first_page_answers_alike_for_an_iin_with_a_phone_and_one_without(client, sandbox):
    person = sandbox.add()
    unknown = make_iin()
    pages = []
    for iin in (person["iin"], unknown):
        client.cookies.clear()
        response = client.post("/signin/", {"iin": iin}, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 302 and response["Location"] == "/signin/code/"
        page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en")
        masked = f"{iin[:4]}••••{iin[-2:]}"
        pages.append((page.status_code, re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page.content.decode())
                      .replace(masked, "IIN")))
    assert pages[0] == pages[1]
    assert pages[0][0] == 200 and "If IIN IIN has a registered phone, a code was sent to it." in pages[0][1]
    assert len(sandbox.sms_for(person["phone"])) == 1
    assert SignInCode.objects.filter(iin=unknown).count() == 1  # counted like any other: the limits tell nothing


def test_the_request_does_not_wait_for_the_sms_gateway(client, sandbox, monkeypatch):
    from accounts import tasks

    queued = []
    monkeypatch.setattr(tasks.send_sign_in_code, "delay", lambda *args: queued.append(args))
    person = sandbox.add()
    assert client.post("/signin/", {"iin": person["iin"]}).status_code == 302
    assert queued and sandbox.sms_for(person["phone"]) == []  # the page answered before any SMS went out
    assert portal.deliver_sign_in_code(code_id=queued[0][0], language=queued[0][1]) == "passed"
    assert portal.deliver_sign_in_code(code_id=queued[0][0], language=queued[0][1]) == "skipped"  # sent once
    response = client.post("/signin/code/", {"code": code_in(sandbox, person["phone"])})
    assert response.status_code == 302 and "_auth_user_id" in client.session


def test_a_new_code_is_sent_at_most_once_a_minute_and_the_page_says_so(client, sandbox, settings):
    person = sandbox.add()
    client.post("/signin/", {"iin": person["iin"]})
    first = code_in(sandbox, person["phone"])
    page = client.post("/signin/code/", {"resend": "1"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "You can ask for a new code in" in page and "A new code was sent." not in page
    assert len(sandbox.sms_for(person["phone"])) == 1
    an_earlier_code(person["iin"], seconds=settings.SIGN_IN_RESEND_INTERVAL_SECONDS)
    page = client.post("/signin/code/", {"resend": "1"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "A new code was sent." in page and "There is a problem" not in page
    assert len(sandbox.sms_for(person["phone"])) == 2
    second = code_in(sandbox, person["phone"])
    if second != first:
        assert client.post("/signin/code/", {"code": first}).status_code == 200  # the earlier code died
    assert client.post("/signin/code/", {"code": second}).status_code == 302


@pytest.mark.postgres
def test_four_quick_clicks_on_send_a_new_code_send_one_sms(sandbox):
    iin = make_iin()
    outcomes, barrier = [], threading.Barrier(4)

    def click():
        barrier.wait()
        try:
            portal.request_sign_in_code(iin=iin, ip="10.2.2.2", language="kk")
            outcomes.append("sent")
        except portal.NewCodeTooSoon:
            outcomes.append("too soon")
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["sent", "too soon", "too soon", "too soon"]
    assert SignInCode.objects.filter(iin=iin).count() == 1


def test_codes_per_hour_are_limited_alike_with_or_without_a_phone(client, sandbox, settings):
    settings.SIGN_IN_CODES_PER_HOUR = 2
    settings.SIGN_IN_RESEND_INTERVAL_SECONDS = 0
    person = sandbox.add()
    for iin in (person["iin"], make_iin()):
        answers = [client.post("/signin/", {"iin": iin}, HTTP_ACCEPT_LANGUAGE="en") for _ in range(3)]
        assert [answer.status_code for answer in answers] == [302, 302, 200]
        assert "Too many codes were asked for this IIN" in answers[2].content.decode()


def test_code_requests_are_limited_per_ip(client, sandbox, settings):
    settings.SIGN_IN_CODE_REQUESTS_PER_IP_PER_HOUR = 3
    answers = [client.post("/signin/", {"iin": make_iin()}, REMOTE_ADDR="10.3.3.3", HTTP_ACCEPT_LANGUAGE="en")
               for _ in range(4)]
    assert [answer.status_code for answer in answers] == [302, 302, 302, 200]
    assert "Too many sign-in attempts from your network. Try again in 60 minutes." in answers[3].content.decode()
    assert client.post("/signin/", {"iin": make_iin()}, REMOTE_ADDR="10.4.4.4").status_code == 302


def test_code_checks_are_limited_per_ip_even_for_the_right_code(client, sandbox, settings):
    settings.SIGN_IN_CODE_CHECKS_PER_IP_PER_HOUR = 2
    person = sandbox.add()
    client.post("/signin/", {"iin": person["iin"]}, REMOTE_ADDR="10.5.5.5")
    for _ in range(2):
        client.post("/signin/code/", {"code": "000000"}, REMOTE_ADDR="10.5.5.5")
    page = client.post("/signin/code/", {"code": code_in(sandbox, person["phone"])}, REMOTE_ADDR="10.5.5.5",
                       HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Too many sign-in attempts from your network" in page
    assert "_auth_user_id" not in client.session


def test_an_iin_without_a_phone_gets_no_sms_and_no_code_signs_it_in(client, sandbox):
    iin = make_iin()
    client.post("/signin/", {"iin": iin})
    entry = SignInCode.objects.get(iin=iin)
    assert entry.code_hash  # a code was made, as for anyone; the gateway had no phone to send it to
    page = client.post("/signin/code/", {"code": "123456"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The code is not right. Tries left: 4." in page
