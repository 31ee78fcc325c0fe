"""EventBridge rule pages: the rules of the default event bus, one rule with its targets, recent
matches and failed invocations, and the pattern tester.

- ``GET /console/rules?prefix=&token=``: ListRules (NamePrefix, 100 a page) and, per rule,
  ListTargetsByRule (the number of targets) and the bus's status read (the last match).
- ``GET /console/rules/view?name=<rule>``: DescribeRule (the pattern indented), ListTargetsByRule,
  DescribeApiDestination of each API destination target (its endpoint and method); the bus's
  newest matches and failed invocations of the rule
  (:meth:`opentrail.eventbridge.bus.EventBusWorker.rule_status`).
- ``GET /console/rules/match?name=<rule>&id=<envelope id>``: the CloudTrail event a match came
  from. The envelope id is a hash of the account and the record's eventID
  (:func:`opentrail.eventbridge.envelope.envelope_id`), so it is found by looking up the events
  recorded before the match, newest first (LookupEvents, at most :data:`MATCH_LOOKUP_PAGES` pages
  of 50 back to ``--rules-max-event-age-s`` before it), and answered with a redirect to the event's
  page; 404 when the envelope is not a CloudTrail event of the history (a PutEvents event, an alarm
  state change, a data event, or one the history no longer keeps).
- ``GET /console/rules/test?name=<rule>``: the pattern tester, the rule's pattern and the newest
  CloudTrail event of the account not made by this console session, in its EventBridge envelope
  (a sample StopLogging event when there is none). ``POST`` (CSRF-checked): TestEventPattern, and
  for an event that does not match, :meth:`EventPattern.explain` for the reason.

Every call goes through the API handlers and is recorded as the API records it; a lookup that
pages records its first call only, as the event history's downloads do. Without a bus (or one
without ``rule_status``) the pages show no matches and no failures.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from ..api.errors import AwsError
from ..eventbridge.catalog import rule_arn
from ..eventbridge.envelope import envelope_id
from ..eventbridge.targets import API_DESTINATION, target_kind
from . import rules_view as view
from .monitoring_view import when
from .pages import Pages
from .sessions import ConsoleSession
from .web import BASE, error_page, info, signin_redirect

RULES = BASE + "/rules"
#: Rules a page of the list holds (ListRules' largest Limit).
RULES_PAGE = 100
#: LookupEvents pages (of 50) searched for the CloudTrail event of a match.
MATCH_LOOKUP_PAGES = 10
#: Seconds after a match its event may carry (a producer's clock ahead of the server's).
MATCH_CLOCK_SLACK_S = 60
#: How far back before a match its event is looked for when ``--rules-max-event-age-s`` is 0.
MATCH_LOOKBACK_S = 86400

NO_RULES = "This server runs without EventBridge."


def error_text(exc: AwsError) -> str:
    return f"{exc.code}: {exc.message}" if exc.message else exc.code


class RulesPages(Pages):
    def _call(self, request: Request, session: ConsoleSession, operation: str, params: dict[str, Any],
              *, record: bool = True, service: str = "events") -> Any:
        return self.backend.call(session, info(request), operation, params, record=record, service=service)

    def _status(self, arn: str) -> Any:
        """The bus's status read of the rule, or None without a bus that has one."""
        read = getattr(self.backend.event_bus, "rule_status", None)
        return read(arn) if read is not None else None

    def _signed_in(self, request: Request) -> ConsoleSession | Response:
        session = self.session(request)
        if session is None:
            return signin_redirect(request)
        if self.backend.eventbridge is None:
            return error_page(request, 404, "No EventBridge", NO_RULES, session)
        return session

    # --- the list ---------------------------------------------------------------------------------

    async def rules(self, request: Request) -> Response:
        session = self._signed_in(request)
        if isinstance(session, Response):
            return session
        prefix, token = request.query_params.get("prefix", ""), request.query_params.get("token", "")

        def build() -> Response:
            params: dict[str, Any] = {"Limit": RULES_PAGE}
            if prefix:
                params["NamePrefix"] = prefix
            if token:
                params["NextToken"] = token
            try:
                answer = self._call(request, session, "ListRules", params)
            except AwsError as exc:
                return self.page(request, session, "rules.html", {"rules": [], "prefix": prefix, "next_token": None,
                                                                  "error": error_text(exc)}, status=400)
            rows = []
            for rule in answer.get("Rules", []):
                try:
                    targets: int | str = len(self._call(request, session, "ListTargetsByRule",
                                                        {"Rule": rule["Name"]}).get("Targets", []))
                except AwsError:
                    targets = "?"
                status = self._status(rule["Arn"])
                last = status.matches[0][1] if status is not None and status.matches else None
                rows.append({"name": rule["Name"], "state": rule.get("State", ""),
                             "summary": view.pattern_summary(rule.get("EventPattern")),
                             "schedule": rule.get("ScheduleExpression", ""), "targets": targets,
                             "last_match": when(last), "description": rule.get("Description", "")})
            return self.page(request, session, "rules.html", {"rules": rows, "prefix": prefix, "error": None,
                                                              "next_token": answer.get("NextToken")})

        return await run_in_threadpool(build)

    # --- one rule ---------------------------------------------------------------------------------

    async def rule(self, request: Request) -> Response:
        session = self._signed_in(request)
        if isinstance(session, Response):
            return session
        name = request.query_params.get("name", "")

        def build() -> Response:
            try:
                rule = self._call(request, session, "DescribeRule", {"Name": name})
            except AwsError as exc:
                status = 404 if exc.code == "ResourceNotFoundException" else 400
                return error_page(request, status, "Rule", error_text(exc), session)
            try:
                targets = self._call(request, session, "ListTargetsByRule", {"Rule": name}).get("Targets", [])
                targets_error = None
            except AwsError as exc:
                targets, targets_error = [], error_text(exc)
            rows = []
            for target in targets:
                destination, destination_error = None, None
                if target_kind(str(target.get("Arn", ""))) == API_DESTINATION:
                    try:
                        destination = self._call(request, session, "DescribeApiDestination",
                                                 {"Name": view.api_destination_name(str(target["Arn"]))})
                    except AwsError as exc:
                        destination_error = error_text(exc)
                rows.append(view.target_row(target, destination, destination_error))
            status = self._status(rule["Arn"])
            matches = [{"id": event_id, "time": when(t)} for event_id, t in (status.matches if status else [])]
            failures = [view.failure_row(f) for f in (status.failed_invocations if status else [])]
            return self.page(request, session, "rule.html", {
                "rule": rule, "pattern": view.pretty_json(rule.get("EventPattern")), "targets": rows,
                "targets_error": targets_error, "matches": matches, "failures": failures,
                "has_bus": status is not None,
            })

        return await run_in_threadpool(build)

    async def match(self, request: Request) -> Response:
        session = self._signed_in(request)
        if isinstance(session, Response):
            return session
        name, wanted = request.query_params.get("name", ""), request.query_params.get("id", "")

        def build() -> Response:
            status = self._status(rule_arn(session.region, session.account_id, name))
            times = [t for event_id, t in (status.matches if status else []) if event_id == wanted]
            if not times:
                return error_page(request, 404, "No such match",
                                  f"Rule {name!r} has no recent match with envelope id {wanted!r}.", session)
            event_id = self._find_event(request, session, wanted, times[0])
            if event_id is None:
                return error_page(request, 404, "Not a CloudTrail event",
                                  f"The event {wanted} is not a CloudTrail event of the event history of account "
                                  f"{session.account_id} in {session.region}: an event sent with PutEvents, a "
                                  "CloudWatch alarm state change, a data event (the event history holds management "
                                  "events only), or an event the history no longer keeps.", session)
            back = f"{RULES}/view?name={quote(name, safe='')}"
            return RedirectResponse(f"{BASE}/events/{quote(event_id, safe='')}?from={quote(back, safe='')}",
                                    status_code=303)

        return await run_in_threadpool(build)

    def _find_event(self, request: Request, session: ConsoleSession, wanted: str, matched_s: float) -> str | None:
        """The eventID of the account's CloudTrail event whose envelope id is ``wanted``, looked up
        newest first from just after the match; None when not found within the pages searched."""
        max_age = float(self.backend.settings.rules_max_event_age_s) or MATCH_LOOKBACK_S
        params: dict[str, Any] = {"StartTime": int(matched_s - max_age - MATCH_CLOCK_SLACK_S),
                                  "EndTime": int(matched_s + MATCH_CLOCK_SLACK_S), "MaxResults": 50}
        for page in range(MATCH_LOOKUP_PAGES):
            answer = self._call(request, session, "LookupEvents", params, record=page == 0, service="cloudtrail")
            for event in answer.get("Events", []):
                if envelope_id(session.account_id, str(event.get("EventId", ""))) == wanted:
                    return str(event["EventId"])
            if not answer.get("NextToken"):
                return None
            params = {**params, "NextToken": answer["NextToken"]}
        return None

    # --- the pattern tester -----------------------------------------------------------------------

    async def tester(self, request: Request) -> Response:
        session = self._signed_in(request)
        if isinstance(session, Response):
            return session
        name = request.query_params.get("name", "")

        def build() -> Response:
            status, error, pattern = 200, None, ""
            event = self._newest_envelope(request, session)
            if name:
                try:
                    pattern = view.pretty_json(self._call(request, session, "DescribeRule",
                                                          {"Name": name}).get("EventPattern"))
                except AwsError as exc:
                    status, error = 404 if exc.code == "ResourceNotFoundException" else 400, error_text(exc)
            return self._tester_page(request, session, name, pattern, event, error=error, status=status)

        return await run_in_threadpool(build)

    def _newest_envelope(self, request: Request, session: ConsoleSession) -> str:
        try:
            events = self._call(request, session, "LookupEvents", {"MaxResults": 50},
                                service="cloudtrail").get("Events", [])
        except AwsError:
            events = []
        newest = view.newest_not_from(events, session.session_key_id)
        if newest is None:
            envelope = view.sample_envelope(session.account_id, session.region, self.backend.clock())
        else:
            envelope = view.lookup_envelope(newest, session.account_id, session.region)
        return json.dumps(envelope, indent=2, ensure_ascii=False)

    async def test(self, request: Request) -> Response:
        checked = await self.checked_form(request)
        if isinstance(checked, Response):
            return checked
        session, form = checked
        if self.backend.eventbridge is None:
            return error_page(request, 404, "No EventBridge", NO_RULES, session)
        name, pattern, event = (str(form.get(k) or "") for k in ("name", "pattern", "event"))

        def build() -> Response:
            try:
                result = self._call(request, session, "TestEventPattern", {"EventPattern": pattern, "Event": event})
            except AwsError as exc:
                return self._tester_page(request, session, name, pattern, event, error=error_text(exc), status=400)
            if result.get("Result"):
                verdict: dict[str, Any] = {"matches": True, "reason": None}
            else:
                verdict = {"matches": False, "reason": view.mismatch_reason(pattern, event)}
            return self._tester_page(request, session, name, pattern, event, verdict=verdict)

        return await run_in_threadpool(build)

    def _tester_page(self, request: Request, session: ConsoleSession, name: str, pattern: str, event: str, *,
                     error: str | None = None, verdict: dict[str, Any] | None = None, status: int = 200) -> Response:
        return self.page(request, session, "rule_test.html", {"name": name, "pattern": pattern, "event": event,
                                                              "error": error, "verdict": verdict}, status=status)
