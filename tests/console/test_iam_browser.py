"""IAM in the console, in Debian's chromium driven by Playwright, against a real `opentrail serve`:
the IAM user ``auditor`` (AWSCloudTrail_ReadOnlyAccess) signs in with account ID, user name and
password, sees the event history, is not offered "Create trail", and a forged create-trail form
gets HTTP 403 with AWS's message; a wrong password is recorded as a ConsoleLogin failure; root still
signs in with its keys; the policy simulator answers Allow, ImplicitDeny and ExplicitDeny with the
deciding statement. Screenshots in artifacts/console/ (iam-*.png)."""

from __future__ import annotations

import json
import time
from typing import Any, Iterator

import orjson
import pytest

from .browser import ACCOUNT, KEY_ID, SCREENSHOTS, SECRET, Served, browser_page, client

PASSWORD = "Auditor-Passw0rd!"
READ_ONLY_ARN = "arn:aws:iam::aws:policy/AWSCloudTrail_ReadOnlyAccess"
DENY_STOP = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Sid": "AllowTrails", "Effect": "Allow", "Action": "cloudtrail:*", "Resource": "*"},
    {"Sid": "NeverStopLogging", "Effect": "Deny", "Action": "cloudtrail:StopLogging", "Resource": "*"}]})


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    server = Served(tmp_path_factory.mktemp("iam-console") / "data")
    iam = client(server, "iam")
    iam.create_user(UserName="auditor")
    iam.attach_user_policy(UserName="auditor", PolicyArn=READ_ONLY_ARN)
    iam.create_login_profile(UserName="auditor", Password=PASSWORD)
    iam.create_user(UserName="operator")
    iam.put_user_policy(UserName="operator", PolicyName="no-stop", PolicyDocument=DENY_STOP)
    yield server
    server.stop()


def shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in_user(page: Any, password: str) -> None:
    page.goto("/console/signin?method=iam&next=%2Fconsole%2Fevents")
    page.wait_for_function("document.activeElement && document.activeElement.id === 'account_id'")
    page.keyboard.type(ACCOUNT)
    page.keyboard.press("Tab")
    page.keyboard.type("auditor")
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def logins(served: Served, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:
        events = served.lookup_all(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "ConsoleLogin"}])
        if len(events) >= count or time.monotonic() > deadline:
            return [orjson.loads(e["CloudTrailEvent"]) for e in events]
        time.sleep(0.1)


def test_auditor_signs_in_reads_and_is_refused_changes(served: Served) -> None:
    with browser_page(served.url) as page:
        sign_in_user(page, "wrong-password")
        assert page.text_content("#signin-error") == "Your authentication information is incorrect. Please try again."
        shot(page, "iam-signin-failed")
        sign_in_user(page, PASSWORD)
        assert page.url.endswith("/console/events")
        assert page.text_content(".who") == f"auditor @ {ACCOUNT}"
        page.wait_for_selector("table.events")
        shot(page, "iam-auditor-events")
        page.goto("/console/trails")
        assert page.locator("#create-trail").count() == 0
        shot(page, "iam-auditor-trails")
        # a forged create-trail form, posted from the page with the session's own CSRF token
        token = page.get_attribute("input[name=csrf_token]", "value")
        posted = lambda r: r.url.endswith("/console/trails") and r.request.method == "POST"  # noqa: E731
        with page.expect_response(posted) as sent:
            page.evaluate("""token => {
                const f = document.createElement('form'); f.method = 'post'; f.action = '/console/trails';
                for (const [k, v] of Object.entries({csrf_token: token, name: 'forged', bucket: 'b', management: 'All'})) {
                    const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v; f.appendChild(i);
                }
                document.body.appendChild(f); f.submit();
            }""", token)
        assert sent.value.status == 403
        page.wait_for_selector("h1:text('Access denied')")
        assert page.text_content("main p[role=alert]") == (
            f"AccessDeniedException: User: arn:aws:iam::{ACCOUNT}:user/auditor is not authorized to perform: "
            f"cloudtrail:CreateTrail on resource: arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/forged because no "
            "identity-based policy allows the cloudtrail:CreateTrail action")
        shot(page, "iam-auditor-denied")
    found = logins(served, 2)
    assert [e["responseElements"]["ConsoleLogin"] for e in found] == ["Success", "Failure"]
    assert found[1]["errorMessage"] == "Failed authentication"
    assert found[1]["userIdentity"]["userName"] == "auditor"


def test_root_signs_in_with_keys_and_simulates(served: Served) -> None:
    trail = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/main"
    with browser_page(served.url) as page:
        page.goto("/console/signin")
        page.fill("#access_key_id", KEY_ID)
        page.fill("#secret_access_key", SECRET)
        with page.expect_navigation():
            page.click("#key-signin button[type=submit]")
        assert page.text_content(".who") == f"root @ {ACCOUNT}"
        page.goto("/console/trails")
        assert page.locator("#create-trail").count() == 1
        page.goto("/console/iam")
        assert page.locator("tr[data-user=auditor] .login-profile").text_content() == "Yes"
        shot(page, "iam-page")
        cases = [("user:auditor", "cloudtrail:LookupEvents", "", ("Allow", READ_ONLY_ARN, "#0")),
                 ("user:auditor", "cloudtrail:StopLogging", trail,
                  ("ImplicitDeny", "—", "no statement allows the action")),
                 ("user:operator", "cloudtrail:StopLogging", trail, ("ExplicitDeny", "no-stop", "NeverStopLogging"))]
        for n, (principal, action, resource, expected) in enumerate(cases):
            page.goto("/console/iam/simulate")
            page.check("#source-principal")
            page.select_option("#sim-principal", principal)
            page.fill("#sim-action", action)
            page.fill("#sim-resource", resource)
            with page.expect_navigation():
                page.click("#simulate-form button[type=submit]")
            got = (page.text_content("#decision"), page.text_content("#decision-policy"),
                   page.text_content("#decision-statement"))
            assert got == expected
            shot(page, f"iam-simulator-{n}")
