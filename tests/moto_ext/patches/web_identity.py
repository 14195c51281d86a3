"""AssumeRoleWithWebIdentity that consults the role's trust policy.

moto answers AssumeRoleWithWebIdentity for any token and any role: it never
reads the token, needs no OIDC provider, and never looks at the trust
policy. This module makes it decide the way AWS documents (STS API
reference, AssumeRoleWithWebIdentity; IAM User Guide, "Available keys for
OIDC federation"), for what provision's tests rely on:

- The token is a JWT whose payload carries `iss`, `sub` and `aud`. Its
  signature is NOT verified: tests make unsigned tokens, and this emulator
  has no key set to check them against. Everything after that is checked.
- The role must exist (`AccessDenied` otherwise), and the account must have
  an OIDC provider for the token's issuer (`InvalidIdentityToken`) whose
  client ids include the token's audience (`InvalidIdentityToken`).
- The trust policy decides: an `Allow` statement must name that provider as
  its `Federated` principal (or `*`) and allow
  `sts:AssumeRoleWithWebIdentity`, and all of its conditions must hold;
  a matching `Deny` refuses. Conditions on `<issuer>:sub` and
  `<issuer>:aud` are evaluated with `StringEquals` and `StringLike` (`*`
  and `?`), condition keys case-insensitively. Any other operator or key
  counts as not satisfied, so an unknown condition refuses rather than
  lets in (for a Deny, it does not match). Refusal is `AccessDenied`
  ("Not authorized to perform sts:AssumeRoleWithWebIdentity").

tests/roles.rs checks that a token of the trusted repository gets credentials,
and that another repository's, another audience's or a missing provider's
does not.
"""

import base64
import fnmatch
import json
import re
from urllib.parse import unquote

from moto.iam.models import iam_backends
from moto.sts import responses
from moto.sts.exceptions import STSClientError

ACTION = "sts:AssumeRoleWithWebIdentity"


class _AccessDenied(STSClientError):
    code = "AccessDenied"


class _InvalidIdentityToken(STSClientError):
    code = "InvalidIdentityToken"


def _claims(token):
    parts = (token or "").split(".")
    if len(parts) != 3:
        raise _InvalidIdentityToken("The ID token provided is not a valid JWT.")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        return json.loads(base64.urlsafe_b64decode(payload))
    except ValueError:
        raise _InvalidIdentityToken("The ID token provided is not a valid JWT.")


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _like(pattern, value):
    # IAM's StringLike: `*` any run, `?` one character, nothing else special.
    regex = "".join(
        ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern
    )
    return re.fullmatch(regex, value, re.DOTALL) is not None


def _condition_holds(condition, context):
    for operator, block in (condition or {}).items():
        for key, wanted in block.items():
            value = context.get(key.lower())
            if value is None:
                return False
            wanted = [str(w) for w in _as_list(wanted)]
            if operator == "StringEquals":
                ok = value in wanted
            elif operator == "StringLike":
                ok = any(_like(w, value) for w in wanted)
            else:
                return False
            if not ok:
                return False
    return True


def _matches(statement, provider_arn, context):
    principal = statement.get("Principal")
    if principal != "*":
        federated = _as_list((principal or {}).get("Federated", []))
        if provider_arn not in federated and "*" not in federated:
            return False
    actions = _as_list(statement.get("Action", []))
    if not any(fnmatch.fnmatchcase(ACTION, a) for a in actions):
        return False
    return _condition_holds(statement.get("Condition"), context)


def _trust_allows(document, provider_arn, context):
    statements = _as_list(document.get("Statement", []))
    allowed = False
    for statement in statements:
        if not _matches(statement, provider_arn, context):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            allowed = True
    return allowed


_original = responses.TokenResponse.assume_role_with_web_identity


def assume_role_with_web_identity(self):
    role_arn = self._get_param("RoleArn")
    claims = _claims(self._get_param("WebIdentityToken"))
    account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
    iam = iam_backends[account]["aws"]
    try:
        role = iam.get_role_by_arn(role_arn)
    except Exception:
        raise _AccessDenied("Not authorized to perform sts:AssumeRoleWithWebIdentity")
    issuer = str(claims.get("iss", "")).removeprefix("https://").rstrip("/")
    provider_arn = f"arn:aws:iam::{account}:oidc-provider/{issuer}"
    provider = iam.open_id_providers.get(provider_arn)
    if provider is None:
        raise _InvalidIdentityToken(
            f"No OpenIDConnect provider found in your account for https://{issuer}"
        )
    audiences = [str(a) for a in _as_list(claims.get("aud", []))]
    if not any(a in provider.client_id_list for a in audiences):
        raise _InvalidIdentityToken("Incorrect token audience")
    context = {
        f"{issuer}:sub".lower(): str(claims.get("sub", "")),
        f"{issuer}:aud".lower(): audiences[0] if audiences else "",
    }
    raw = role.assume_role_policy_document
    raw = raw if raw.lstrip().startswith("{") else unquote(raw)
    if not _trust_allows(json.loads(raw), provider_arn, context):
        raise _AccessDenied("Not authorized to perform sts:AssumeRoleWithWebIdentity")
    return _original(self)


responses.TokenResponse.assume_role_with_web_identity = assume_role_with_web_identity
