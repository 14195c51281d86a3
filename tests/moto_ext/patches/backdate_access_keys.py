"""A test-only control: make an access key older, as time would.

IAM sets an access key's CreateDate when the key is created, and moto
takes it from the clock, so a test cannot have a key that is 200 days
old. `POST /moto-api/provision/backdate-access-key` with the JSON body
`{"AccessKeyId": "AKIA...", "Days": 200}` moves that key's CreateDate back
by that many days, like the other `/moto-api/` controls (reset,
reset-auth) that only tests call. Nothing provision sends reaches it: it
changes what the emulator reports about time, not how it answers.
"""

import datetime
import json

from moto.iam.models import iam_backends
from moto.moto_api._internal import urls


def _keys():
    for account in iam_backends.values():
        for backend in account.values():
            for user in backend.users.values():
                yield from user.access_keys


def backdate_access_key(request, full_url, headers):
    if request.method != "POST":
        return 405, {}, "POST only"
    body = json.loads(request.data.decode() or "{}")
    key_id, days = body.get("AccessKeyId"), int(body.get("Days", 0))
    for key in _keys():
        if key.access_key_id == key_id:
            key.create_date = key.create_date - datetime.timedelta(days=days)
            return 200, {}, json.dumps({"CreateDate": key.create_date.isoformat()})
    return 404, {}, json.dumps({"error": f"no access key {key_id}"})


urls.url_paths["{0}/moto-api/provision/backdate-access-key"] = backdate_access_key
