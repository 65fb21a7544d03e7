"""Loading rule files: YAML under the rules directories, every error with file, line and field.

A rule file holds ``rules:``, a list of rules::

    rules:
      - id: content.crypto-wallet            # unique across all files
        description: A cryptocurrency wallet address
        detector: crypto_wallet              # see `sentinel rules list`
        severity: high                       # info | low | medium | high | critical
        score: 4                             # optional; default from severity (0,1,2,4,8)
        group: content                       # optional; findings of one group add with damping
        params: {}                           # detector parameters
        scope: {tags: [brand], platforms: [x], accounts: [...], publishing: [gated]}
        exceptions: {accounts: [...], tags: [...], authors: [...], clients: [...],
                     via: [observed], domains: [...], text: [regex, ...]}
        enabled: true
        mode: observe                        # optional: enforce (default) or observe
        attack: [T1078]                      # optional: MITRE ATT&CK technique ids
        fixtures:
          - name: doubling scam
            account: {publishing: open}      # optional overrides of the fixture account
            history: {days: 30, per_day: 3}  # optional generated clean history first
            events: [{text: "Send 1 BTC, get 2 back"}]
            expect: finding                  # or: none   (judged on the last event)
            detail: "BTC"                    # optional substring of the finding's detail

A file may set ``mode: observe`` beside ``rules:`` for all its rules (a rule's own ``mode``
wins). An observed rule is a trial: its findings are reported and counted, with what the
decision would have been, but never change a verdict, hold, block or freeze.

A detector judges posts, account events or Vault requests (``sentinel rules list``); the
fixtures of the latter two use ``kind: account`` and ``kind: vault`` events and the history's
``changes`` and ``reads`` (see ``sentinel.engine.fixtures``). A Vault rule takes no ``scope``
or ``exceptions``; an account-event rule only the account ones (accounts, tags, platforms).

``collect_rules`` returns every problem found, not only the first, so ``sentinel rules
validate`` can list them all; ``load_rules`` raises ``RuleSetError`` if there is any.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml

from sentinel.engine.detectors import DETECTORS, DetectorSpec
from sentinel.engine.events import SEVERITIES, Severity
from sentinel.engine.rules import SEVERITY_SCORES, Exceptions, Fixture, Rule, RuleSet, Scope
from sentinel.errors import RuleError
from sentinel.files import writable_by_others

_RULE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")
_RULE_KEYS = {
    "id",
    "description",
    "detector",
    "severity",
    "score",
    "group",
    "params",
    "scope",
    "exceptions",
    "fixtures",
    "enabled",
    "mode",
    "attack",
}
MODES = ("enforce", "observe")
_TECHNIQUE = re.compile(r"^T\d{4}(?:\.\d{3})?$")
_SCOPE_KEYS = ("accounts", "tags", "platforms", "publishing")
_EXCEPTION_KEYS = ("accounts", "tags", "platforms", "authors", "clients", "via", "domains", "text")
_FIXTURE_KEYS = {"name", "events", "expect", "detail", "account", "history"}
FIXTURE_ACCOUNT_KEYS = {
    "id",
    "platform",
    "publishing",
    "timezone",
    "domains",
    "tags",
    "owners",
    "business_hours",
}
FIXTURE_HISTORY_KEYS = {
    "days",
    "per_day",
    "hours",
    "text",
    "client",
    "author",
    "authors",
    "ip",
    "via",
    "link",
    "accounts",
    "changes",
    "reads",
}
FIXTURE_EVENT_KEYS = {
    "id",
    "ts",
    "at",
    "account",
    "via",
    "text",
    "client",
    "post_id",
    "author",
    "ip",
    "reply_to",
    # account events and Vault requests (see sentinel.engine.fixtures)
    "kind",
    "field",
    "old",
    "new",
    "identity",
    "key",
    "path",
    "operation",
    "policies",
    "denied",
    "root",
}


@dataclass(frozen=True)
class RuleIssue:
    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}


class RuleSetError(RuleError):
    """One or more rule files are invalid; ``issues`` lists every problem."""

    def __init__(self, issues: Sequence[RuleIssue]) -> None:
        self.issues = tuple(issues)
        first = str(self.issues[0]) if self.issues else "invalid rules"
        more = f" (and {len(self.issues) - 1} more problem(s))" if len(self.issues) > 1 else ""
        super().__init__(first + more)


def rule_files(dirs: Iterable[Path]) -> list[Path]:
    """The ``*.yaml``/``*.yml`` files under the directories (hidden files skipped), in order."""
    out: list[Path] = []
    for d in dirs:
        d = Path(d)
        if d.is_file():
            out.append(d)
            continue
        if not d.is_dir():
            continue
        for p in sorted(d.rglob("*")):
            if (
                p.suffix in (".yaml", ".yml")
                and p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(d).parts)
            ):
                out.append(p)
    return out


class _Doc:
    """A YAML document kept as nodes, so every value can report its line."""

    def __init__(self, file: str, issues: list[RuleIssue]) -> None:
        self.file = file
        self.issues = issues

    def err(self, node: yaml.Node | None, fieldname: str, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 0
        self.issues.append(RuleIssue(self.file, line, fieldname, message))

    def mapping(self, node: yaml.Node, fieldname: str) -> dict[str, tuple[yaml.Node, yaml.Node]] | None:
        if not isinstance(node, yaml.MappingNode):
            self.err(node, fieldname, "expected a mapping (key: value)")
            return None
        out: dict[str, tuple[yaml.Node, yaml.Node]] = {}
        for k, v in node.value:
            key = k.value if isinstance(k, yaml.ScalarNode) else None
            if not isinstance(key, str):
                self.err(k, fieldname, "keys must be plain strings")
                continue
            if key in out:
                self.err(k, f"{fieldname}.{key}" if fieldname else key, "key given twice")
            out[key] = (k, v)
        return out

    def value(self, node: yaml.Node) -> Any:
        loader = yaml.SafeLoader("")
        try:
            return loader.construct_object(node, deep=True)
        finally:
            loader.dispose()

    def string(self, node: yaml.Node, fieldname: str, pattern: re.Pattern[str] | None = None) -> str | None:
        v = self.value(node)
        if not isinstance(v, str) or not v.strip():
            self.err(node, fieldname, f"expected a non-empty string, got {v!r}")
            return None
        if pattern is not None and not pattern.match(v):
            self.err(node, fieldname, f"{v!r} must be lowercase letters, digits, '.', '_' or '-'")
            return None
        return v

    def strings(self, node: yaml.Node, fieldname: str) -> tuple[str, ...] | None:
        v = self.value(node)
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            self.err(node, fieldname, "expected a list of non-empty strings")
            return None
        return tuple(v)


def _mode(doc: _Doc, node: yaml.Node, where: str) -> str | None:
    value = doc.value(node)
    if value not in MODES:
        doc.err(node, where, f"expected one of {', '.join(MODES)}, got {value!r}")
        return None
    return str(value)


Fields = Mapping[str, tuple[yaml.Node, yaml.Node]]
"""A YAML mapping's entries by key: (key node, value node)."""


def _parse_rule(doc: _Doc, node: yaml.Node, where: str, mode: str = "enforce") -> Rule | None:
    """One rule from its YAML node; None when it is invalid (every problem is in ``doc.issues``)."""
    m = doc.mapping(node, where)
    if m is None:
        return None
    n_before = len(doc.issues)
    _check_fields(doc, node, m, where)
    rid = doc.string(m["id"][1], f"{where}.id", _RULE_ID) if "id" in m else None
    where = f"rule {rid}" if rid else where
    description = _text(doc, m, "description", where)
    spec = _detector(doc, m, where)
    severity = _severity(doc, m, where)
    score = _score(doc, m, where, severity)
    group = _text(doc, m, "group", where)
    enabled = _enabled(doc, m, where)
    mode = _rule_mode(doc, m, where, mode)
    attack = _attack(doc, m, where)
    params = _params(doc, node, m, where, spec)
    scope = _scope(doc, m, where)
    exceptions = _exceptions(doc, m, where)
    _check_subject(doc, m, where, spec)
    fixtures = _fixtures(doc, m, where)
    if len(doc.issues) > n_before or not (rid and description and spec and severity):
        return None
    return Rule(
        id=rid,
        description=description,
        detector=spec,
        params=params,
        severity=severity,
        score=score,
        group=group or rid,
        scope=scope,
        exceptions=exceptions,
        fixtures=fixtures,
        enabled=enabled,
        mode=mode,
        attack=attack,
        file=doc.file,
        line=node.start_mark.line + 1,
    )


def _check_fields(doc: _Doc, node: yaml.Node, m: Fields, where: str) -> None:
    """Every field known, every required one given."""
    for key, (knode, _) in m.items():
        if key not in _RULE_KEYS:
            doc.err(knode, f"{where}.{key}", f"unknown field; allowed: {', '.join(sorted(_RULE_KEYS))}")
    for key in ("id", "description", "detector", "severity"):
        if key not in m:
            doc.err(node, f"{where}.{key}", "missing required field")


def _rule_mode(doc: _Doc, m: Fields, where: str, default: str) -> str:
    """The rule's own ``mode``, else its file's."""
    return (_mode(doc, m["mode"][1], f"{where}.mode") or default) if "mode" in m else default


def _text(doc: _Doc, m: Fields, key: str, where: str) -> str | None:
    """An optional non-empty string field."""
    return doc.string(m[key][1], f"{where}.{key}") if key in m else None


def _detector(doc: _Doc, m: Fields, where: str) -> DetectorSpec | None:
    if "detector" not in m:
        return None
    name = doc.string(m["detector"][1], f"{where}.detector")
    if name is None:
        return None
    spec = DETECTORS.get(name)
    if spec is None:
        doc.err(
            m["detector"][1],
            f"{where}.detector",
            f"unknown detector {name!r}; known: {', '.join(sorted(DETECTORS))}",
        )
    return spec


def _severity(doc: _Doc, m: Fields, where: str) -> Severity | None:
    if "severity" not in m:
        return None
    sv = doc.value(m["severity"][1])
    if sv not in SEVERITIES:
        doc.err(m["severity"][1], f"{where}.severity", f"expected one of {', '.join(SEVERITIES)}, got {sv!r}")
        return None
    return cast(Severity, sv)


def _score(doc: _Doc, m: Fields, where: str, severity: Severity | None) -> float:
    """The rule's score: given, or the severity's (0, 1, 2, 4, 8)."""
    default = SEVERITY_SCORES.get(severity or "", 0.0)
    if "score" not in m:
        return default
    sc = doc.value(m["score"][1])
    if isinstance(sc, bool) or not isinstance(sc, int | float) or sc < 0:
        doc.err(m["score"][1], f"{where}.score", f"expected a number of at least 0, got {sc!r}")
        return default
    return float(sc)


def _enabled(doc: _Doc, m: Fields, where: str) -> bool:
    if "enabled" not in m:
        return True
    value = doc.value(m["enabled"][1])
    if not isinstance(value, bool):
        doc.err(m["enabled"][1], f"{where}.enabled", "expected true or false")
        return True
    return value


def _attack(doc: _Doc, m: Fields, where: str) -> tuple[str, ...]:
    """MITRE ATT&CK technique ids, each checked."""
    if "attack" not in m:
        return ()
    attack = doc.strings(m["attack"][1], f"{where}.attack") or ()
    for t in attack:
        if not _TECHNIQUE.match(t):
            doc.err(m["attack"][1], f"{where}.attack", f"{t!r} is not an ATT&CK technique id such as T1078")
    return attack


def _params(doc: _Doc, node: yaml.Node, m: Fields, where: str, spec: DetectorSpec | None) -> dict[str, Any]:
    """The detector's defaults overlaid with the rule's ``params``, each checked and converted."""
    if spec is None:
        return {}
    raw = (doc.mapping(m["params"][1], f"{where}.params") or {}) if "params" in m else {}
    params: dict[str, Any] = {}
    try:
        params = spec.compile_params({})
    except (KeyError, ValueError) as e:  # pragma: no cover - a detector's own default is wrong
        doc.err(node, f"{where}.params", f"detector default invalid: {e}")
    for key, (knode, vnode) in raw.items():
        if key not in spec.params:
            allowed = ", ".join(sorted(spec.params)) or "none"
            doc.err(
                knode,
                f"{where}.params.{key}",
                f"detector {spec.name} has no such parameter; allowed: {allowed}",
            )
            continue
        try:
            params[key] = spec.params[key].compile(doc.value(vnode))
        except ValueError as e:
            doc.err(vnode, f"{where}.params.{key}", str(e))
    return params


def _check_subject(doc: _Doc, m: Fields, where: str, spec: DetectorSpec | None) -> None:
    """Account-event rules take account scopes and account exceptions; Vault rules neither."""
    if spec is None or spec.subject == "post":
        return
    if spec.subject == "vault":
        for key in ("scope", "exceptions"):
            if key in m:
                doc.err(m[key][0], f"{where}.{key}", "does not apply to a Vault request rule")
        return
    if "exceptions" in m and isinstance(m["exceptions"][1], yaml.MappingNode):
        for k, _ in m["exceptions"][1].value:
            if k.value not in ("accounts", "tags", "platforms"):
                doc.err(
                    k,
                    f"{where}.exceptions.{k.value}",
                    "an account-event rule takes accounts, tags, platforms",
                )


def _scope(doc: _Doc, m: Fields, where: str) -> Scope:
    if "scope" not in m:
        return Scope()
    sm = doc.mapping(m["scope"][1], f"{where}.scope") or {}
    vals: dict[str, frozenset[str]] = {}
    for key, (knode, vnode) in sm.items():
        if key not in _SCOPE_KEYS:
            doc.err(knode, f"{where}.scope.{key}", f"unknown field; allowed: {', '.join(_SCOPE_KEYS)}")
            continue
        got = doc.strings(vnode, f"{where}.scope.{key}")
        if got is not None:
            if key == "publishing" and not set(got) <= {"gated", "open"}:
                doc.err(vnode, f"{where}.scope.publishing", "expected gated and/or open")
            vals[key] = frozenset(got)
    return Scope(**vals)


def _exceptions(doc: _Doc, m: Fields, where: str) -> Exceptions:
    if "exceptions" not in m:
        return Exceptions()
    em = doc.mapping(m["exceptions"][1], f"{where}.exceptions") or {}
    vals: dict[str, Any] = {}
    for key, (knode, vnode) in em.items():
        f = f"{where}.exceptions.{key}"
        if key not in _EXCEPTION_KEYS:
            doc.err(knode, f, f"unknown field; allowed: {', '.join(_EXCEPTION_KEYS)}")
            continue
        got = doc.strings(vnode, f)
        if got is None:
            continue
        if key == "text":
            pats = []
            for i, pat in enumerate(got):
                try:
                    pats.append(re.compile(pat, re.IGNORECASE))
                except re.error as e:
                    doc.err(vnode, f"{f}[{i}]", f"invalid regular expression {pat!r}: {e}")
            vals[key] = tuple(pats)
        elif key == "via":
            if not set(got) <= {"gate", "observed"}:
                doc.err(vnode, f, "expected gate and/or observed")
            vals[key] = frozenset(got)
        elif key == "domains":
            vals[key] = frozenset(g.lower() for g in got)
        else:
            vals[key] = frozenset(got)
    return Exceptions(**vals)


def _fixtures(doc: _Doc, m: Fields, where: str) -> tuple[Fixture, ...]:
    if "fixtures" not in m:
        return ()
    fnode = m["fixtures"][1]
    if not isinstance(fnode, yaml.SequenceNode):
        doc.err(fnode, f"{where}.fixtures", "expected a list of fixtures")
        return ()
    out = []
    for i, item in enumerate(fnode.value):
        f = f"{where}.fixtures[{i}]"
        fm = doc.mapping(item, f)
        if fm is None:
            continue
        bad = False
        for key, (knode, _) in fm.items():
            if key not in _FIXTURE_KEYS:
                doc.err(knode, f"{f}.{key}", f"unknown field; allowed: {', '.join(sorted(_FIXTURE_KEYS))}")
                bad = True
        name = doc.string(fm["name"][1], f"{f}.name") if "name" in fm else f"fixture {i + 1}"
        expect = doc.value(fm["expect"][1]) if "expect" in fm else None
        if expect not in ("finding", "none"):
            doc.err(
                fm["expect"][1] if "expect" in fm else item, f"{f}.expect", "expected 'finding' or 'none'"
            )
            bad = True
        detail = ""
        if "detail" in fm:
            detail = doc.string(fm["detail"][1], f"{f}.detail") or ""
        events: list[Mapping[str, Any]] = []
        if "events" not in fm:
            doc.err(item, f"{f}.events", "missing required field")
            bad = True
        else:
            enode = fm["events"][1]
            if not isinstance(enode, yaml.SequenceNode) or not enode.value:
                doc.err(enode, f"{f}.events", "expected a non-empty list of events")
                bad = True
            else:
                for j, ev in enumerate(enode.value):
                    em = doc.mapping(ev, f"{f}.events[{j}]")
                    if em is None:
                        bad = True
                        continue
                    for key, (knode, _vnode) in em.items():
                        if key not in FIXTURE_EVENT_KEYS:
                            doc.err(
                                knode,
                                f"{f}.events[{j}].{key}",
                                f"unknown field; allowed: {', '.join(sorted(FIXTURE_EVENT_KEYS))}",
                            )
                            bad = True
                    events.append(doc.value(ev))
        account: dict[str, Any] = {}
        history: dict[str, Any] = {}
        for key, allowed, target in (
            ("account", FIXTURE_ACCOUNT_KEYS, account),
            ("history", FIXTURE_HISTORY_KEYS, history),
        ):
            if key not in fm:
                continue
            sub = doc.mapping(fm[key][1], f"{f}.{key}")
            if sub is None:
                bad = True
                continue
            for k, (knode, _) in sub.items():
                if k not in allowed:
                    doc.err(knode, f"{f}.{key}.{k}", f"unknown field; allowed: {', '.join(sorted(allowed))}")
                    bad = True
            target.update(doc.value(fm[key][1]))
        if not bad and name is not None:
            out.append(
                Fixture(
                    name=name,
                    events=tuple(events),
                    expect=str(expect),
                    detail=detail,
                    account=account,
                    history=history,
                    line=item.start_mark.line + 1,
                )
            )
    return tuple(out)


def parse_rule_text(text: str, file: str, issues: list[RuleIssue]) -> list[Rule]:
    """Rules in one file's text; problems are appended to ``issues``."""
    doc = _Doc(file, issues)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else 0
        issues.append(RuleIssue(file, line, "", f"not valid YAML: {e.problem or e.context}"))
        return []
    except yaml.YAMLError as e:
        issues.append(RuleIssue(file, 0, "", f"not valid YAML: {e}"))
        return []
    if node is None:
        return []
    top = doc.mapping(node, "")
    if top is None:
        return []
    for key, (knode, _) in top.items():
        if key not in ("rules", "mode"):
            doc.err(knode, key, "unknown top-level field; a rule file holds 'rules:' (and 'mode:')")
    mode = _mode(doc, top["mode"][1], "mode") if "mode" in top else "enforce"
    if "rules" not in top:
        doc.err(node, "rules", "missing 'rules:' list")
        return []
    rnode = top["rules"][1]
    if not isinstance(rnode, yaml.SequenceNode):
        doc.err(rnode, "rules", "expected a list of rules")
        return []
    out = []
    for i, item in enumerate(rnode.value):
        rule = _parse_rule(doc, item, f"rules[{i}]", mode or "enforce")
        if rule is not None:
            out.append(rule)
    return out


def collect_rules(dirs: Iterable[Path]) -> tuple[RuleSet, list[RuleIssue]]:
    """Every valid rule under ``dirs`` and every problem found."""
    issues: list[RuleIssue] = []
    rules: list[Rule] = []
    dirs = [Path(d) for d in dirs]
    files = rule_files(dirs)
    seen: dict[str, Rule] = {}
    for where in [*dirs, *files]:
        # A rule decides what is let through: one someone else could edit could switch detection off.
        unsafe = writable_by_others(where)
        if unsafe:
            issues.append(RuleIssue(str(where), 0, "", f"refusing rules others could change: {unsafe}"))
    if issues:
        return RuleSet((), tuple(str(p) for p in files)), issues
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            issues.append(RuleIssue(str(path), 0, "", f"cannot read rule file: {e.__class__.__name__}: {e}"))
            continue
        for rule in parse_rule_text(text, str(path), issues):
            if rule.id in seen:
                issues.append(
                    RuleIssue(
                        str(path),
                        rule.line,
                        f"rule {rule.id}.id",
                        f"rule id already defined at {seen[rule.id].where}",
                    )
                )
                continue
            seen[rule.id] = rule
            rules.append(rule)
    return RuleSet(tuple(rules), tuple(str(p) for p in files)), issues


def load_rules(dirs: Iterable[Path]) -> RuleSet:
    """All rules under ``dirs``; ``RuleSetError`` (listing every problem) if any file is invalid."""
    dirs = [Path(d) for d in dirs]
    missing = [d for d in dirs if not d.exists()]
    if missing:
        raise RuleSetError([RuleIssue(str(missing[0]), 0, "", "rules directory not found")])
    ruleset, issues = collect_rules(dirs)
    if issues:
        raise RuleSetError(issues)
    return ruleset
