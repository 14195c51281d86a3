"""Pagination for GetAccountAuthorizationDetails.

moto returns every entity in one page and ignores `MaxItems` and `Marker`.
AWS returns at most `MaxItems` entities (default 100, at most 1000) per
page, with `IsTruncated` and a `Marker` to pass to the next call. This patch
does the same, so that tests can see how many pages provision reads.

Entities are paged in one sequence: users, then groups, roles and managed
policies, each counting one item. The marker is the offset of the next
entity: opaque to the client, as on AWS.
"""

from moto.core.responses import ActionResult
from moto.iam.responses import IamResponse

DEFAULT_MAX_ITEMS = 100
LIMIT = 1000


def get_account_authorization_details(self):
    filter_param = self._get_param("Filter", [])
    details = self.backend.get_account_authorization_details(filter_param)
    entities = (
        [("UserDetailList", e) for e in details["users"]]
        + [("GroupDetailList", e) for e in details["groups"]]
        + [("RoleDetailList", e) for e in details["roles"]]
        + [("Policies", e) for e in details["managed_policies"]]
    )
    max_items = int(self._get_param("MaxItems") or DEFAULT_MAX_ITEMS)
    max_items = max(1, min(max_items, LIMIT))
    start = int(self._get_param("Marker") or 0)
    page = entities[start : start + max_items]
    result = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}
    for key, entity in page:
        result[key].append(entity)
    end = start + len(page)
    result["IsTruncated"] = end < len(entities)
    if result["IsTruncated"]:
        result["Marker"] = str(end)
    return ActionResult(result)


IamResponse.get_account_authorization_details = get_account_authorization_details
