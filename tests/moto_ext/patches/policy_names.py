"""CreatePolicy as strict as AWS's: one name per account, decided atomically.

AWS keeps managed policy names unique within an account, whatever their
path, and refuses a second CreatePolicy of a taken name with
EntityAlreadyExists (CreatePolicy API reference; IAM quotas and name
requirements: "names must be unique within the account"). moto compares
the whole ARN, path included, and checks then stores in two steps on a
threaded server, so two requests arriving together could both succeed.

provision's apply lock is a managed policy whose creation must succeed for
exactly one of two concurrent runs, so the test server must refuse the
second the way AWS does. This override takes a lock around the check and
the store, and compares names among the account's own (customer managed)
policies; AWS managed policies live in another namespace.
"""

import threading

from moto.iam.exceptions import EntityAlreadyExists
from moto.iam.models import AWSManagedPolicy, IAMBackend

_lock = threading.Lock()
_original_create_policy = IAMBackend.create_policy


def create_policy(self, description, path, policy_document, policy_name, tags):
    with _lock:
        for policy in list(self.managed_policies.values()):
            if not isinstance(policy, AWSManagedPolicy) and policy.name == policy_name:
                raise EntityAlreadyExists(
                    f"A policy called {policy_name} already exists. Duplicate names are not allowed."
                )
        return _original_create_policy(
            self, description, path, policy_document, policy_name, tags
        )


IAMBackend.create_policy = create_policy
