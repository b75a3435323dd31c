"""IAM policy evaluation for the latchkey double: the subset latchkey's features depend on.

moto's own evaluator ignores conditions other than StringEquals (and treats a failed condition as
an explicit deny) and cannot match `${aws:username}` resources, so the double evaluates identity
policies, permissions boundaries and session policies here, with AWS's rules:
explicit Deny anywhere wins; otherwise every policy set present must Allow.

Supported: Action/NotAction, Resource/NotResource (wildcards `*` `?`, policy variables such as
`${aws:username}`), Condition operators Bool, Null, String(Not)Equals(IgnoreCase), String(Not)Like,
Arn(Not)Equals/Like, Numeric*, each with the IfExists suffix. Any other operator raises
UnsupportedPolicy (the double answers 500) rather than being evaluated wrongly.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Context = Mapping[str, str]  # condition key (lower case) -> value; absent keys are not in it


class UnsupportedPolicy(Exception):
    """A policy uses a condition operator the double does not evaluate."""


class Effect(enum.Enum):
    ALLOW = "allow"
    DENY = "deny"
    NONE = "none"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # AWS's wording after "is not authorized to perform: ACTION "; empty when allowed


_VARIABLE = re.compile(r"\$\{([^}]+)\}")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _wildcard(pattern: str, value: str, ignore_case: bool = False) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    flags = re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL
    return re.fullmatch(regex, value, flags) is not None


def substitute(pattern: str, context: Context) -> str | None:
    """Replaces ${key} policy variables; None when a variable's key is absent (no match)."""
    missing = False

    def replace(match: re.Match[str]) -> str:
        nonlocal missing
        inner = match.group(1)
        if inner in _ESCAPES:
            return _ESCAPES[inner]
        key, _, default = inner.partition(",")
        value = context.get(key.strip().lower())
        if value is None:
            if default:
                return default.strip().strip("'")
            missing = True
            return ""
        return value

    result = _VARIABLE.sub(replace, pattern)
    return None if missing else result


def _matches_action(patterns: Any, action: str) -> bool:
    return any(_wildcard(p, action, ignore_case=True) for p in _as_list(patterns))


def _matches_resource(patterns: Any, resource: str, context: Context) -> bool:
    for pattern in _as_list(patterns):
        concrete = substitute(pattern, context)
        if concrete is not None and _wildcard(concrete, resource):
            return True
    return False


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _compare(base: str, expected: str, actual: str, context: Context) -> bool:
    """One operator (without IfExists / Not) on one policy value and one request value."""
    expected_value = substitute(expected, context) if base.startswith(("String", "Arn")) else expected
    if expected_value is None:
        return False
    if base == "StringEquals":
        return actual == expected_value
    if base == "StringEqualsIgnoreCase":
        return actual.lower() == expected_value.lower()
    if base in ("StringLike", "ArnLike", "ArnEquals"):
        return _wildcard(expected_value, actual)
    if base == "Bool":
        return actual.lower() == str(expected_value).lower()
    if base.startswith("Numeric"):
        left, right = _number(actual), _number(str(expected_value))
        if left is None or right is None:
            return False
        return {
            "NumericEquals": left == right,
            "NumericLessThan": left < right,
            "NumericLessThanEquals": left <= right,
            "NumericGreaterThan": left > right,
            "NumericGreaterThanEquals": left >= right,
        }[base]
    raise UnsupportedPolicy(base)


_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
}
_POSITIVE = {
    "StringEquals",
    "StringEqualsIgnoreCase",
    "StringLike",
    "ArnEquals",
    "ArnLike",
    "Bool",
    "NumericEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
}


def condition_holds(operator: str, key: str, expected: Any, context: Context) -> bool:
    """AWS semantics: absent key fails a positive operator, passes a negated one or IfExists."""
    values = [str(v).lower() if isinstance(v, bool) else str(v) for v in _as_list(expected)]
    actual = context.get(key.lower())
    if operator == "Null":
        # "true" asks that the key be absent, "false" that it be present.
        return any((actual is None) == (v.lower() == "true") for v in values)
    if_exists = operator.endswith("IfExists")
    base = operator[: -len("IfExists")] if if_exists else operator
    if actual is None:
        return if_exists or base in _NEGATED
    if base in _NEGATED:
        return not any(_compare(_NEGATED[base], v, actual, context) for v in values)
    if base in _POSITIVE:
        return any(_compare(base, v, actual, context) for v in values)
    raise UnsupportedPolicy(operator)


def statement_effect(statement: Mapping[str, Any], action: str, resource: str, context: Context) -> Effect:
    if "NotAction" in statement:
        if _matches_action(statement["NotAction"], action):
            return Effect.NONE
    elif not _matches_action(statement.get("Action", []), action):
        return Effect.NONE
    if "NotResource" in statement:
        if _matches_resource(statement["NotResource"], resource, context):
            return Effect.NONE
    elif "Resource" in statement and not _matches_resource(statement["Resource"], resource, context):
        return Effect.NONE
    for operator, keys in (statement.get("Condition") or {}).items():
        for key, expected in keys.items():
            if not condition_holds(operator, key, expected, context):
                return Effect.NONE
    return Effect.DENY if statement.get("Effect") == "Deny" else Effect.ALLOW


def policy_set_effect(
    documents: Iterable[str | Mapping[str, Any]], action: str, resource: str, context: Context
) -> Effect:
    """Deny if any statement denies, Allow if one allows, else NONE (implicit deny)."""
    allowed = False
    for document in documents:
        parsed = json.loads(document) if isinstance(document, str) else document
        for statement in _as_list(parsed.get("Statement", [])):
            effect = statement_effect(statement, action, resource, context)
            if effect is Effect.DENY:
                return Effect.DENY
            allowed = allowed or effect is Effect.ALLOW
    return Effect.ALLOW if allowed else Effect.NONE


_KINDS = {
    "identity": "an identity-based policy",
    "boundary": "a permissions boundary",
    "session": "a session policy",
}
_NO_ALLOW = {
    "identity": "no identity-based policy allows",
    "boundary": "no permissions boundary allows",
    "session": "no session policy allows",
}


def evaluate(
    action: str,
    resource: str,
    context: Context,
    identity: Iterable[str | Mapping[str, Any]],
    boundary: str | Mapping[str, Any] | None = None,
    session: Iterable[str | Mapping[str, Any]] | None = None,
) -> Decision:
    """Identity policies AND (boundary, if set) AND (session policies, if any); Deny wins."""
    sets: list[tuple[str, list[Any]]] = [("identity", list(identity))]
    if boundary is not None:
        sets.append(("boundary", [boundary]))
    if session is not None:  # an empty list is a session with no policy: nothing allowed
        sets.append(("session", list(session)))
    effects = [(kind, policy_set_effect(docs, action, resource, context)) for kind, docs in sets]
    for kind, effect in effects:
        if effect is Effect.DENY:
            return Decision(False, f"with an explicit deny in {_KINDS[kind]}")
    for kind, effect in effects:
        if effect is not Effect.ALLOW:
            return Decision(False, f"because {_NO_ALLOW[kind]} the {action} action")
    return Decision(True, "")


__all__ = ["Context", "Decision", "UnsupportedPolicy", "condition_holds", "evaluate", "substitute"]
