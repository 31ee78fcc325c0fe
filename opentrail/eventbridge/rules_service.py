"""The EventBridge control plane: rules of each account's default event bus in each Region, their
targets and tags, connections and API destinations (:mod:`.destinations_service`), kept in
``<data-dir>/eventbridge.db`` (:class:`~opentrail.eventbridge.rules_store.SqliteRulesStore`);
:class:`RulesService` is also the :class:`~opentrail.eventbridge.model.RuleCatalog` the bus reads.

Changes are *staged* inside :meth:`RulesService.staged_changes`, as the trail and Logs services'
are: the API records the call first, then commits them (:mod:`opentrail.api.calls`); PutEvents
hands its events to the bus the same way (:meth:`RulesService.defer`). Every committed change bumps
:attr:`RulesService.version`.

A rule's ``since_seq`` is the newest event-log seq (``head_seq()``) when the rule was created or
went from DISABLED to enabled (PutRule or EnableRule): the bus gives it only later events. Enabling
an enabled rule keeps it, so no pending event is skipped.

Errors are :mod:`.errors` (domain errors carrying the wire code and AWS's message).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any, Callable, ContextManager, Mapping, Sequence

from ..staging import Staging
from .catalog import (MAX_RULES_PER_BUS, MAX_TAGS, MAX_TARGETS_PER_RULE, Rule, TargetFailure, event_bus_arn,
                      rule_arn)
from .destinations_service import DestinationsMixin
from .egress import EgressPolicy
from .local_targets import LocalTargetPolicy
from .errors import InvalidEventPattern, LimitExceeded, NotFound, ValidationError
from .model import DEFAULT_BUS, DISABLED, ENABLED, RuleConfig
from .rule_targets import check_request, entry_failure, target_config
from .rules_store import EVENTBRIDGE_DB, SqliteRulesStore
from .schedule import is_valid_schedule
from .secrets import SecretBox

#: Where TagResource finds what an ARN names: ``rule/<name>`` or ``event-bus/<name>``.
_TAGGABLE = ("rule/", "event-bus/")


def check_event_pattern(text: str) -> None:
    """Raise :class:`InvalidEventPattern` with the pattern engine's message ("Event pattern is not
    valid. Reason: ...") when ``text`` is not a valid event pattern."""
    from .pattern import InvalidEventPattern as PatternError
    from .pattern import parse_pattern

    try:
        parse_pattern(text)
    except PatternError as exc:
        raise InvalidEventPattern(exc.message) from None


class RulesService(DestinationsMixin):
    """EventBridge's control plane over ``<data_dir>/eventbridge.db``. ``clock`` gives epoch
    seconds; ``head_seq`` the newest event-log seq; ``egress`` the ``--webhook-allow`` policy API
    destinations and OAuth endpoints are checked against (loopback only when None); ``local_targets``
    the limits of opentrail's file and command targets (:mod:`.local_targets`; None: files under
    ``<data-dir>/targets``, no commands)."""

    def __init__(self, data_dir: Path, clock: Callable[[], float] = time.time, *,
                 head_seq: Callable[[], int] = lambda: 0, egress: EgressPolicy | None = None,
                 local_targets: LocalTargetPolicy | None = None) -> None:
        self._store = SqliteRulesStore(Path(data_dir) / EVENTBRIDGE_DB)
        self._box = SecretBox(Path(data_dir))
        self._clock = clock
        self._head_seq = head_seq
        self._egress = egress if egress is not None else EgressPolicy.parse("loopback")
        self._local_targets = local_targets or LocalTargetPolicy.from_settings(Path(data_dir), "", "")
        self._lock = threading.RLock()
        self._staging = Staging(self._lock)
        self._version = 0
        self._compiled: tuple[int, list[RuleConfig]] = (-1, [])

    def close(self) -> None:
        self._store.close()

    # --- staging and the catalog version ------------------------------------------------------

    @property
    def version(self) -> int:
        """Changes whenever a rule, target, connection or API destination changes, here or on
        another node (within :data:`~opentrail.state_watch.PG_RECHECK_S` seconds)."""
        return self._version + self._store.changes()

    def staged_changes(self) -> ContextManager[Callable[[], None]]:
        """Hold the catalog lock and stage this thread's changes until the yielded ``commit``
        writes them (:class:`opentrail.staging.Staging`)."""
        return self._staging.changes()

    def defer(self, action: Callable[[], None]) -> None:
        """Run ``action`` now, or at the commit of this thread's staged changes (PutEvents hands its
        events to the bus only once the call's record is durable)."""
        self._staging.apply(action)

    def _apply(self, change: Callable[[], None]) -> None:
        def run() -> None:
            try:
                change()
            finally:
                self._version += 1

        self._staging.apply(run)

    def _now(self) -> float:
        return float(self._clock())

    # --- rules -------------------------------------------------------------------------------

    def rule(self, account_id: str, region: str, name: str) -> Rule:
        """The rule with its targets, or NotFound ("Rule x does not exist on EventBus default.")."""
        rule = self._store.rule(account_id, region, name)
        if rule is None:
            raise NotFound.rule(name)
        return rule

    def put_rule(self, account_id: str, region: str, name: str, *, event_pattern: str | None = None,
                 schedule_expression: str | None = None, state: str | None = None, description: str | None = None,
                 role_arn: str | None = None, tags: Mapping[str, str] | None = None) -> str:
        """PutRule: create the rule or replace its definition (an update keeps its targets, tags and
        creator; tags given on update are ignored, as AWS does). Returns its ARN. Raises
        ValidationError (neither pattern nor schedule; a schedule that is not rate()/cron()),
        InvalidEventPattern, LimitExceeded (300 rules per event bus)."""
        if not event_pattern and not schedule_expression:
            raise ValidationError("Parameter(s) EventPattern or ScheduleExpression must be specified.")
        if schedule_expression and not is_valid_schedule(schedule_expression):
            raise ValidationError("Parameter ScheduleExpression is not valid.")
        if event_pattern:
            check_event_pattern(event_pattern)
        state = state or ENABLED
        existing = self._store.rule(account_id, region, name)
        if existing is None:
            if len(tags or {}) > MAX_TAGS:
                raise ValidationError(f"A rule can have at most {MAX_TAGS} tags.")
            if self._store.rule_count(account_id, region) >= MAX_RULES_PER_BUS:
                raise LimitExceeded()
        keep_since = existing is not None and (existing.state != DISABLED or state == DISABLED)

        def change() -> None:
            since = existing.since_seq if keep_since and existing is not None else self._head_seq()
            self._store.put_rule(Rule(
                account_id=account_id, region=region, name=name, state=state, event_pattern=event_pattern or None,
                schedule_expression=schedule_expression or None, description=description, role_arn=role_arn,
                created_by=existing.created_by if existing else account_id, since_seq=since,
                tags=existing.tags if existing else dict(tags or {})), limit=(MAX_RULES_PER_BUS, LimitExceeded))

        self._apply(change)
        return rule_arn(region, account_id, name)

    def list_rules(self, account_id: str, region: str, *, prefix: str | None = None, after: str = "",
                   limit: int = 100) -> list[Rule]:
        """Rules by name after ``after`` (without targets); at most ``limit``."""
        return self._store.rules(account_id, region, prefix=prefix, after=after, limit=limit)

    def delete_rule(self, account_id: str, region: str, name: str, *, force: bool = False) -> None:
        """DeleteRule: a rule that does not exist is no error ("all calls will succeed"); one with
        targets is refused unless ``force``."""
        rule = self._store.rule(account_id, region, name)
        if rule is None:
            return
        if rule.targets and not force:
            raise ValidationError("Rule can't be deleted since it has targets.")
        self._apply(lambda: self._store.delete_rule(account_id, region, name))

    def enable_rule(self, account_id: str, region: str, name: str) -> None:
        """EnableRule: a disabled rule becomes ENABLED and starts after the event log's current head;
        an enabled one keeps its state (ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS stays so)."""
        rule = self.rule(account_id, region, name)
        was_disabled = rule.state == DISABLED

        def change() -> None:
            since = self._head_seq() if was_disabled else rule.since_seq
            self._store.set_rule_state(account_id, region, name, ENABLED if was_disabled else rule.state, since)

        self._apply(change)

    def disable_rule(self, account_id: str, region: str, name: str) -> None:
        rule = self.rule(account_id, region, name)
        self._apply(lambda: self._store.set_rule_state(account_id, region, name, DISABLED, rule.since_seq))

    # --- targets -----------------------------------------------------------------------------

    def put_targets(self, account_id: str, region: str, rule_name: str,
                    targets: Sequence[Mapping[str, Any]]) -> list[TargetFailure]:
        """PutTargets: keep the targets that can be delivered (adding or replacing by Id), answer the
        others as failures (:mod:`.rule_targets`). Raises NotFound, ValidationError, LimitExceeded
        (more than 5 targets on the rule)."""
        rule = self.rule(account_id, region, rule_name)
        check_request(list(targets))
        failures: list[TargetFailure] = []
        accepted: list[Mapping[str, Any]] = []
        for target in targets:
            failure = entry_failure(target, self._api_destination_exists(account_id, region), self._local_targets)
            if failure is None:
                accepted.append(target)
            else:
                failures.append(failure)
        ids = {t["Id"] for t in rule.targets} | {t["Id"] for t in accepted}
        if len(ids) > MAX_TARGETS_PER_RULE:
            raise LimitExceeded()
        if accepted:
            self._apply(lambda: self._store.put_targets(account_id, region, rule_name, accepted,
                                                        limit=(MAX_TARGETS_PER_RULE, LimitExceeded)))
        return failures

    def _api_destination_exists(self, account_id: str, region: str) -> Callable[[str], bool]:
        def exists(arn: str) -> bool:
            found = self._store.api_destination_by_arn(arn)
            return found is not None and (found.account_id, found.region) == (account_id, region)

        return exists

    def remove_targets(self, account_id: str, region: str, rule_name: str, ids: Sequence[str]) -> list[TargetFailure]:
        """RemoveTargets: an Id the rule does not have is answered as a failure (LocalStack's
        AWS-validated text)."""
        rule = self.rule(account_id, region, rule_name)
        have = {t["Id"] for t in rule.targets}
        failures = [TargetFailure(i, "ResourceNotFoundException",
                                  f"Rule '{rule_name}' does not have a target with the Id '{i}'.")
                    for i in ids if i not in have]
        removed = [i for i in dict.fromkeys(ids) if i in have]
        if removed:
            self._apply(lambda: self._store.remove_targets(account_id, region, rule_name, removed))
        return failures

    def rule_names_by_target(self, account_id: str, region: str, arn: str, *, after: str = "",
                             limit: int = 100) -> list[str]:
        return self._store.rule_names_by_target(account_id, region, arn, after=after, limit=limit)

    # --- tags --------------------------------------------------------------------------------

    def _tagged(self, account_id: str, region: str, arn: str) -> tuple[str, str]:
        """(kind, name) of a taggable ARN of the caller: a rule that exists or the default bus."""
        prefix = f"arn:aws:events:{region}:{account_id}:"
        resource = arn[len(prefix):] if arn.startswith(prefix) else ""
        kind = next((k for k in _TAGGABLE if resource.startswith(k)), None)
        if kind is None:
            raise ValidationError(f"Parameter ResourceARN is not valid. Reason: {arn} is not the ARN of a rule or "
                                  "an event bus of this account and Region.")
        name = resource[len(kind):]
        if kind == "rule/":
            self.rule(account_id, region, name)
        elif name != DEFAULT_BUS:
            raise NotFound.event_bus(name)
        return kind, name

    def tags_of(self, account_id: str, region: str, arn: str) -> dict[str, str]:
        """ListTagsForResource: the tags of a rule or of the default event bus."""
        kind, name = self._tagged(account_id, region, arn)
        if kind == "rule/":
            return dict(self.rule(account_id, region, name).tags)
        return self._store.resource_tags(event_bus_arn(region, account_id))

    def tag_resource(self, account_id: str, region: str, arn: str, tags: Mapping[str, str]) -> None:
        """TagResource: add or replace tags (at most 50 in all; the text is opentrail's)."""
        merged = {**self.tags_of(account_id, region, arn), **tags}
        if len(merged) > MAX_TAGS:
            raise ValidationError(f"A resource can have at most {MAX_TAGS} tags.")
        self._set_tags(account_id, region, arn, merged)

    def untag_resource(self, account_id: str, region: str, arn: str, keys: Sequence[str]) -> None:
        kept = {k: v for k, v in self.tags_of(account_id, region, arn).items() if k not in set(keys)}
        self._set_tags(account_id, region, arn, kept)

    def _set_tags(self, account_id: str, region: str, arn: str, tags: Mapping[str, str]) -> None:
        kind, name = self._tagged(account_id, region, arn)
        if kind == "rule/":
            self._apply(lambda: self._store.set_rule_tags(account_id, region, name, tags))
        else:
            self._apply(lambda: self._store.set_resource_tags(event_bus_arn(region, account_id), tags))

    # --- RuleCatalog -------------------------------------------------------------------------

    def rules(self) -> list[RuleConfig]:
        """Every rule of every account and Region, with its targets (rebuilt when the version moves)."""
        version, compiled = self._compiled
        current = self.version
        if version == current:
            return compiled
        configs = [RuleConfig(arn=r.arn, name=r.name, account_id=r.account_id, region=r.region, state=r.state,
                              event_pattern=r.event_pattern, targets=tuple(target_config(t) for t in r.targets),
                              schedule_expression=r.schedule_expression, since_seq=r.since_seq)
                   for r in self._store.all_rules()]
        self._compiled = (current, configs)
        return configs
