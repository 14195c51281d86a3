"""Service-specific credentials, and a DeleteUser as strict as AWS's.

moto has no ListServiceSpecificCredentials (it answers 500), so offboarding
could not be tested against it. This adds Create/List/Delete of
service-specific credentials, stored per user on the IAM backend, answering
the shapes the IAM API reference documents.

AWS refuses DeleteUser with DeleteConflict while the user still has a
password, access keys, signing certificates, SSH public keys,
service-specific credentials, MFA devices, inline or attached policies, or
group memberships (see the DeleteUser API reference). moto checks only the
policies, so a test of offboarding would pass even if provision left a key
behind. The override below checks everything AWS checks.
"""

import datetime
import random
import string

from moto.iam.exceptions import (
    DeleteConflictException,
    LimitExceededException,
    NotFoundException,
)
from moto.iam.models import IAMBackend
from moto.iam.responses import IamResponse
from moto.core.responses import ActionResult, EmptyResult


def _store(backend):
    # Kept on the backend instance, so `POST /moto-api/reset` (which builds
    # new backends) clears it with everything else.
    if not hasattr(backend, "_service_specific_credentials"):
        backend._service_specific_credentials = {}
    return backend._service_specific_credentials


def _random(length, alphabet=string.ascii_uppercase + string.digits):
    return "".join(random.choice(alphabet) for _ in range(length))


def create_service_specific_credential(self):
    user_name = self._get_param("UserName")
    service_name = self._get_param("ServiceName")
    self.backend.get_user(user_name)  # NoSuchEntity when missing
    creds = _store(self.backend).setdefault(user_name, [])
    if len(creds) >= 2:
        raise LimitExceededException(
            "Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: 2"
        )
    credential = {
        "CreateDate": datetime.datetime.now(datetime.timezone.utc),
        "ServiceName": service_name,
        "ServiceUserName": f"{user_name}-at-{self.current_account}",
        "ServicePassword": _random(40, string.ascii_letters + string.digits),
        "ServiceSpecificCredentialId": "ACCA" + _random(17),
        "UserName": user_name,
        "Status": "Active",
    }
    creds.append(credential)
    return ActionResult({"ServiceSpecificCredential": credential})


def list_service_specific_credentials(self):
    user_name = self._get_param("UserName")
    service_name = self._get_param("ServiceName")
    self.backend.get_user(user_name)
    listed = [
        {k: v for k, v in c.items() if k != "ServicePassword"}
        for c in _store(self.backend).get(user_name, [])
        if not service_name or c["ServiceName"] == service_name
    ]
    return ActionResult({"ServiceSpecificCredentials": listed})


def delete_service_specific_credential(self):
    user_name = self._get_param("UserName")
    credential_id = self._get_param("ServiceSpecificCredentialId")
    self.backend.get_user(user_name)
    creds = _store(self.backend).get(user_name, [])
    kept = [c for c in creds if c["ServiceSpecificCredentialId"] != credential_id]
    if len(kept) == len(creds):
        raise NotFoundException(
            f"No such credential {credential_id} exists for user {user_name}."
        )
    _store(self.backend)[user_name] = kept
    return EmptyResult()


IamResponse.create_service_specific_credential = create_service_specific_credential
IamResponse.list_service_specific_credentials = list_service_specific_credentials
IamResponse.delete_service_specific_credential = delete_service_specific_credential

_original_delete_user = IAMBackend.delete_user


def delete_user(self, user_name):
    user = self.get_user(user_name)
    held = []
    if user.password:
        held.append("a login profile")
    if user.access_keys:
        held.append("access keys")
    if user.signing_certificates:
        held.append("signing certificates")
    if user.ssh_public_keys:
        held.append("SSH public keys")
    if user.mfa_devices:
        held.append("MFA devices")
    if _store(self).get(user_name):
        held.append("service-specific credentials")
    if self.get_groups_for_user(user_name):
        held.append("group memberships")
    if held:
        raise DeleteConflictException(
            "Cannot delete entity, must remove " + ", ".join(held) + " first."
        )
    _original_delete_user(self, user_name)
    _store(self).pop(user_name, None)


IAMBackend.delete_user = delete_user
