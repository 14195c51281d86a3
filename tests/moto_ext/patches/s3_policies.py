"""S3 authorization as AWS documents it: bucket policies with principals and
conditions, the same-account rule, and `ExpectedBucketOwner`.

moto evaluates bucket policies only for object requests, never compares a
statement's principal with the caller, counts every `Condition` as true,
ignores resource-based allows, and ignores the `x-amz-expected-bucket-owner`
header. With IAM enforcement on (`/moto-api/reset-auth`), this module
replaces its check of S3 requests by the documented logic
(IAM User Guide, "Policy evaluation logic" and "Cross-account policy
evaluation logic"; S3 User Guide, "How Amazon S3 authorizes a request"):

- the caller's identity policies (user inline, attached, groups' inline and
  attached) and the bucket's policy are evaluated with the caller as
  principal; an explicit `Deny` in either wins;
- within the bucket owner's account, an `Allow` in the identity policies OR
  an `Allow` in the bucket policy naming the caller (its ARN, or `*`) is
  enough; an `Allow` naming the account (`123456789012`,
  `arn:aws:iam::123456789012:root`) delegates to the identity policies and
  grants nothing by itself;
- from another account, both are needed: an identity `Allow` and a bucket
  policy `Allow` naming the caller or its account;
- conditions are evaluated against a request context of `aws:PrincipalArn`
  (for a role session, the role's ARN, as AWS documents, not the
  session's), `aws:PrincipalAccount`, `aws:SecureTransport` (false: the
  test server speaks plain HTTP; a request carrying `X-Forwarded-Proto:
  https` counts as one that came over TLS, as behind a TLS-terminating
  front, so that tests can tell the layer's two denials apart) and, for a bucket that exists, `s3:ResourceAccount`
  (its owner), with the operators `String(Not)Equals(IgnoreCase)`,
  `String(Not)Like`, `Arn(Not)Equals`, `Arn(Not)Like`, `Bool`, `Null` and
  their `...IfExists` forms. A key absent from the context makes the
  condition false, except for negated operators and `...IfExists`, as AWS
  documents. An operator not listed fails the request with HTTP 500 rather
  than guessing;
- actions compare case-insensitively, resources case-sensitively, `*` and
  `?` are wildcards and nothing else is special; `NotAction` and
  `NotResource` are honoured.

`ExpectedBucketOwner` is checked on every bucket and object request whether
enforcement is on or off: a bucket owned by another account answers 403
`AccessDenied`, a missing bucket still answers `NoSuchBucket`.

Where it still falls short of AWS: ACLs, Block Public Access and
`BucketOwnerEnforced` are stored but not enforced; permissions boundaries,
session policies and SCPs are not evaluated; the action checked for an
operation is moto's (see `ACTION_MAP` in moto's S3 responses), except that
a few wrong ones are corrected below; policy variables are compared as
written. tests/moto_ext.rs checks every point.
"""

import json
import re

from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.iam import access_control
from moto.s3 import models as s3_models
from moto.s3.exceptions import MissingBucket, S3AccessDeniedError
from moto.s3.responses import S3Response

ACCOUNT_ARN = re.compile(r"^arn:aws:iam::(\d{12}):root$")


def _enforcing():
    return ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT


def _glob(pattern, value, ignore_case):
    regex = "".join(
        ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern
    )
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.fullmatch(regex, value, flags) is not None


def _list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _document(policy):
    if isinstance(policy, (bytes, bytearray)):
        policy = policy.decode()
    if isinstance(policy, str):
        return json.loads(policy)
    return access_control.IAMPolicy(policy)._policy_json


def _statements(doc):
    return _list(doc.get("Statement"))


def _element(statement, key, not_key, value, ignore_case):
    if key in statement:
        return any(_glob(p, value, ignore_case) for p in _list(statement[key]))
    if not_key in statement:
        return not any(_glob(p, value, ignore_case) for p in _list(statement[not_key]))
    return False


_MATCHERS = {
    "StringEquals": lambda p, v: p == v,
    "StringEqualsIgnoreCase": lambda p, v: p.lower() == v.lower(),
    "StringLike": lambda p, v: _glob(p, v, False),
    "ArnEquals": lambda p, v: p == v,
    "ArnLike": lambda p, v: _glob(p, v, False),
    "Bool": lambda p, v: str(p).lower() == v.lower(),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _condition_holds(condition, context):
    """Every operator and every key must hold (AWS: AND across keys, OR
    across the values of one key)."""
    lower = {k.lower(): v for k, v in context.items()}
    for operator, keys in (condition or {}).items():
        base = operator[: -len("IfExists")] if operator.endswith("IfExists") else operator
        if_exists = base != operator
        for key, values in keys.items():
            actual = lower.get(key.lower())
            if base == "Null":
                wanted = str(_list(values)[0]).lower() == "true"
                if (actual is None) != wanted:
                    return False
                continue
            negated = base in _NEGATED
            matcher = _MATCHERS.get(_NEGATED.get(base, base))
            if matcher is None:
                raise NotImplementedError(
                    f"condition operator `{operator}` is not implemented by the test server"
                )
            if actual is None:
                if negated or if_exists:
                    continue
                return False
            hit = any(matcher(str(p), actual) for p in _list(values))
            if hit == negated:
                return False
    return True


def _principal(statement, arn, account):
    """How the statement's principal covers the caller: "direct" (its ARN or
    everyone), "account" (its account), or None."""
    if "Principal" in statement:
        listed, negate = statement["Principal"], False
    elif "NotPrincipal" in statement:
        listed, negate = statement["NotPrincipal"], True
    else:
        return None
    found = None
    if listed == "*":
        found = "direct"
    else:
        for p in _list(listed.get("AWS") if isinstance(listed, dict) else None):
            m = ACCOUNT_ARN.match(p)
            if p == "*" or p == arn:
                found = "direct"
                break
            if p == account or (m and m.group(1) == account):
                found = found or "account"
    if negate:
        return None if found else "direct"
    return found


def _verdict(docs, action, resource, context, principal=None):
    """(allow, deny) of the documents for the request; for a resource
    policy, `principal` is (arn, account) and allow is None, "account" or
    "direct"."""
    allow, deny = None, False
    for doc in docs:
        for st in _statements(doc):
            if not _element(st, "Action", "NotAction", action, True):
                continue
            if not _element(st, "Resource", "NotResource", resource, False):
                continue
            how = "direct"
            if principal is not None:
                how = _principal(st, *principal)
                if how is None:
                    continue
            if not _condition_holds(st.get("Condition"), context):
                continue
            if st.get("Effect") == "Deny":
                deny = True
            elif st.get("Effect") == "Allow" and allow != "direct":
                allow = how
    return allow, deny


def _bucket_of(resource):
    """The bucket a resource ARN names, wherever it lives, or None."""
    name = resource.split(":::", 1)[-1].split("/", 1)[0]
    where = s3_models.s3_backends.bucket_accounts.get(name)
    if where is None:
        return None
    partition, account = where
    return s3_models.s3_backends[account][partition].buckets.get(name)


def _caller_arn(key):
    """The caller's ARN as `aws:PrincipalArn` has it: moto's leaves out a
    user's path, and for a role session AWS gives the role's ARN (with its
    path), not the session's."""
    user = getattr(key, "_owner_user_name", None)
    if user is not None:
        return key.backend.get_user(user).arn
    role = getattr(key, "_owner_role_name", None)
    if role is not None:
        return key.backend.get_role(role).arn
    return key.arn


def _secure_transport(headers):
    forwarded = headers.get("X-Forwarded-Proto") or headers.get("x-forwarded-proto")
    return "true" if (forwarded or "").lower() == "https" else "false"


def check_action_permitted(self, resource):
    arn = _caller_arn(self._access_key)
    account = self.account_id
    bucket = _bucket_of(resource)
    context = {
        "aws:PrincipalArn": arn,
        "aws:PrincipalAccount": account,
        "aws:SecureTransport": _secure_transport(self._headers),
    }
    if bucket is not None:
        context["s3:ResourceAccount"] = bucket.account_id
    identity = [_document(p) for p in self._access_key.collect_policies()]
    id_allow, id_deny = _verdict(identity, self._action, resource, context)
    res_allow, res_deny = None, False
    if bucket is not None and bucket.policy:
        res_allow, res_deny = _verdict(
            [_document(bucket.policy)], self._action, resource, context, (arn, account)
        )
    if id_deny or res_deny:
        self._raise_access_denied()
    if bucket is None or bucket.account_id == account:
        permitted = bool(id_allow) or res_allow == "direct"
    else:
        permitted = bool(id_allow) and res_allow is not None
    if not permitted:
        self._raise_access_denied()


access_control.S3IAMRequest.check_action_permitted = check_action_permitted

_original_get_permission = s3_models.FakeBucket.get_permission


def get_permission(self, action, resource):
    # Under enforcement the bucket policy was evaluated above, with the
    # caller as principal; moto's own check would apply every statement to
    # every caller.
    if _enforcing():
        return access_control.PermissionResult.NEUTRAL
    return _original_get_permission(self, action, resource)


s3_models.FakeBucket.get_permission = get_permission


# ExpectedBucketOwner, on every bucket and object request.


def _check_expected_owner(self, request, full_url):
    expected = request.headers.get("x-amz-expected-bucket-owner")
    name = expected and self.parse_bucket_name_from_url(request, full_url)
    if not name:
        return
    try:
        bucket = self.backend.get_bucket(name)
    except MissingBucket:
        return
    if bucket.account_id != expected:
        raise S3AccessDeniedError()


for _attr in ("_bucket_response", "_key_response"):
    _orig = getattr(S3Response, _attr)

    def _wrapped(self, request, full_url, _orig=_orig):
        _check_expected_owner(self, request, full_url)
        return _orig(self, request, full_url)

    setattr(S3Response, _attr, _wrapped)
