"""Project membership in the ledger (the metadata table), managed by stewards.

Key design (two items per membership, in the existing metadata table; no new table or index):

====================================  =====================================  ==============================
item                                  key                                    serves
====================================  =====================================  ==============================
access (authoritative)                pk=USER#<username>, sk=PROJECT#<p>     may this user read project p?
                                                                             which projects has this user?
                                      pk=USER#<username>, sk=PARTNER#<n>     which partner is this user of?
roster (listing)                      pk=PROJECT#<p>, sk=MEMBER#<username>   who are the members of p?
====================================  =====================================  ==============================

The access check is one ``GetItem`` of the access item; a user's projects one ``Query`` of ``USER#<u>``.
``PROJECT#<p>`` already holds the project's deliveries (``sk=DELIVERY#...``), so the roster sits beside them.
Adding writes the roster item first and the access item last; removing deletes the access item first: a
half-done change never grants access that the roster does not show. ``<username>`` is the Cognito username
(immutable in a pool); the request logs carry the user's ``sub`` too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from genomics.errors import UserInputError
from genomics.ledger.model import now_iso
from genomics.ledger.store import Ledger, serialize

CODES: dict[str, str] = {
    "WEB_MEMBER_NAME": "A project, partner or user name is not 1-128 letters, digits, '.', '_', '-' or '@'.",
}

# Cognito usernames may be e-mail addresses; projects and partners follow the raw key layout's ids.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$")


class MemberNameError(UserInputError):
    code = "WEB_MEMBER_NAME"


def check_name(label: str, value: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise MemberNameError(f"{label} {value!r} must be 1-128 letters, digits, '.', '_', '-', '+' or '@', "
                              "starting with a letter or digit")
    return value


@dataclass
class Members:
    """Memberships of one stack (its metadata table). ``client``: a boto3 DynamoDB client."""

    metadata_table: str
    client: Any = None

    def __post_init__(self) -> None:
        # The ledger's store: its call boundary (AWS failures classified once) and its paging.
        self.store = Ledger(self.metadata_table, jobs_table="", qc_table="", client=self.client)
        self.client = self.store.client

    def _scope_key(self, project: str | None, partner: str | None) -> str:
        if (project is None) == (partner is None):
            raise ValueError("name exactly one of project or partner")
        return f"PROJECT#{check_name('project', project)}" if project is not None else \
            f"PARTNER#{check_name('partner', str(partner))}"

    def add(self, username: str, *, project: str | None = None, partner: str | None = None,
            by: str = "cli") -> None:
        """Make ``username`` a member of ``project`` (or a user of ``partner``). Idempotent."""
        scope = self._scope_key(project, partner)
        check_name("user", username)
        at = now_iso()
        self.store._call("put_item", TableName=self.metadata_table, Item=serialize(
            {"pk": scope, "sk": f"MEMBER#{username}", "username": username, "added_at": at, "added_by": by}))
        self.store._call("put_item", TableName=self.metadata_table, Item=serialize(
            {"pk": f"USER#{username}", "sk": scope, "username": username, "scope": scope, "added_at": at,
             "added_by": by}))

    def remove(self, username: str, *, project: str | None = None, partner: str | None = None) -> None:
        scope = self._scope_key(project, partner)
        check_name("user", username)
        self.store._call("delete_item", TableName=self.metadata_table,
                   Key=serialize({"pk": f"USER#{username}", "sk": scope}))
        self.store._call("delete_item", TableName=self.metadata_table,
                   Key=serialize({"pk": scope, "sk": f"MEMBER#{username}"}))

    def is_member(self, username: str, project: str) -> bool:
        if not _NAME.match(username or "") or not _NAME.match(project or ""):
            return False
        item = self.store._call("get_item", TableName=self.metadata_table, ConsistentRead=True,
                          Key=serialize({"pk": f"USER#{username}", "sk": f"PROJECT#{project}"})).get("Item")
        return item is not None

    def _user_scopes(self, username: str) -> list[str]:
        if not _NAME.match(username or ""):
            return []
        items = self.store._query(TableName=self.metadata_table, KeyConditionExpression="pk = :pk",
                                  ExpressionAttributeValues=serialize({":pk": f"USER#{username}"}))
        return [str(i["sk"]) for i in items]

    def projects_of(self, username: str) -> list[str]:
        return sorted(s.split("#", 1)[1] for s in self._user_scopes(username) if s.startswith("PROJECT#"))

    def partners_of(self, username: str) -> list[str]:
        return sorted(s.split("#", 1)[1] for s in self._user_scopes(username) if s.startswith("PARTNER#"))

    def members_of(self, *, project: str | None = None, partner: str | None = None) -> list[dict[str, Any]]:
        scope = self._scope_key(project, partner)
        items = self.store._query(TableName=self.metadata_table,
                                  KeyConditionExpression="pk = :pk AND begins_with(sk, :m)",
                                  ExpressionAttributeValues=serialize({":pk": scope, ":m": "MEMBER#"}))
        return [{k: i.get(k) for k in ("username", "added_at", "added_by")} for i in items]
