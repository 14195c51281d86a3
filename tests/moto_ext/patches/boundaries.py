"""Permissions boundaries on IAM users.

moto accepts `PermissionsBoundary` on CreateUser but drops it, never returns
a user's boundary, and lacks PutUserPermissionsBoundary and
DeleteUserPermissionsBoundary. This module adds them the way AWS documents
them (IAM API reference, CreateUser, GetUser, GetAccountAuthorizationDetails,
PutUserPermissionsBoundary, DeleteUserPermissionsBoundary):

- CreateUser and PutUserPermissionsBoundary refuse a malformed ARN with
  `InvalidInput`, and a policy that does not exist with `NoSuchEntity`
  ("Scope ARN: ... does not exist or is not attachable."), as AWS does;
- the boundary is returned as `PermissionsBoundary` {`PermissionsBoundaryType`:
  `PermissionsBoundaryPolicy`, `PermissionsBoundaryArn`} by CreateUser,
  GetUser and GetAccountAuthorizationDetails (`UserDetailList`), and not by
  ListUsers, which AWS documents as leaving it out;
- Put/DeleteUserPermissionsBoundary on an unknown user is `NoSuchEntity`;
  deleting a boundary the user does not have succeeds.

tests/moto_ext.rs checks every point with the IAM SDK client, so a moto
upgrade that changes these internals fails loudly.
"""

from moto.core.responses import EmptyResult
from moto.core.serialize import never_return
from moto.iam import models, responses
from moto.iam.exceptions import InvalidInput, NoSuchEntity

BOUNDARY_TYPE = "PermissionsBoundaryPolicy"


def _boundary(user):
    arn = getattr(user, "permissions_boundary_arn", None)
    if not arn:
        return None
    return {"PermissionsBoundaryType": BOUNDARY_TYPE, "PermissionsBoundaryArn": arn}


# moto's serializer picks `PermissionsBoundary` from a `permissions_boundary`
# attribute when the object has one, for every operation returning a User.
models.User.permissions_boundary = property(_boundary)


def _check_boundary(backend, arn):
    if not backend.policy_arn_regex.match(arn):
        raise InvalidInput(f"ARN {arn} is not valid.")
    if arn not in backend.managed_policies:
        raise NoSuchEntity(f"Scope ARN: {arn} does not exist or is not attachable.")


_original_create_user = responses.IamResponse.create_user


def create_user(self):
    arn = self._get_param("PermissionsBoundary")
    if arn:
        # Checked before the user exists, so a refused call creates nothing.
        _check_boundary(self.backend, arn)
    result = _original_create_user(self)
    if arn:
        self.backend.get_user(self._get_param("UserName")).permissions_boundary_arn = arn
    return result


def put_user_permissions_boundary(self):
    user = self.backend.get_user(self._get_param("UserName"))
    arn = self._get_param("PermissionsBoundary")
    _check_boundary(self.backend, arn)
    user.permissions_boundary_arn = arn
    return EmptyResult()


def delete_user_permissions_boundary(self):
    user = self.backend.get_user(self._get_param("UserName"))
    user.permissions_boundary_arn = None
    return EmptyResult()


responses.IamResponse.create_user = create_user
responses.IamResponse.put_user_permissions_boundary = put_user_permissions_boundary
responses.IamResponse.delete_user_permissions_boundary = delete_user_permissions_boundary
responses.IamResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER = {
    **responses.IamResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER,
    "ListUsersResponse.Users.User.PermissionsBoundary": never_return,
}
