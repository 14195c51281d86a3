"""UpdateGroup with only NewPath moves the group, as AWS does.

AWS's UpdateGroup changes a group's name, its path, or both (UpdateGroup
API reference: "Updates the name and/or the path of the specified IAM
group"). moto applies NewPath only together with NewGroupName, so a request
that moves a group without renaming it succeeds and changes nothing.

provision adopts a hand-made `client-<name>` group by moving it under the
managed path with exactly that request, so the test server must move it.
A group that does not exist is refused with NoSuchEntity, as AWS does.
"""

from moto.iam.exceptions import NotFoundException
from moto.iam.models import IAMBackend

_original_update_group = IAMBackend.update_group


def update_group(self, group_name, new_group_name, new_path):
    if new_group_name:
        return _original_update_group(self, group_name, new_group_name, new_path)
    try:
        group = self.groups[group_name]
    except KeyError:
        raise NotFoundException(f"The group with name {group_name} cannot be found.")
    if new_path:
        group.path = new_path
    return None


IAMBackend.update_group = update_group
