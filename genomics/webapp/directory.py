"""The stack's Cognito user pool in local mode (moto), as ``infra.webapp.UserDirectory`` declares it, and
the demo users of ``genomics local serve``.

moto emulates Cognito user pools: InitiateAuth with USER_PASSWORD_AUTH returns RS256 tokens with the pool's
issuer, the client id, ``cognito:groups`` and an expiry; the signing keys are published at
``/<pool id>/.well-known/jwks.json``. :mod:`genomics.webapp.gateway` verifies tokens against them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from genomics.deployment import USER_GROUPS, Names
from genomics.webapp.members import Members

CODES: dict[str, str] = {
    "CLI_LOGIN": "genomics login: the stack has no web user pool, or the user name or password is wrong",
}
AUTH_FLOWS = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]


@dataclass(frozen=True)
class Directory:
    user_pool_id: str
    client_id: str
    region: str

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    def runtime_env(self) -> dict[str, str]:
        return {"USER_POOL_ID": self.user_pool_id, "USER_POOL_CLIENT_ID": self.client_id}


def create(session: Any, names: Names) -> Directory:
    """The pool (admin-created users only, the password policy), its groups and the public app client."""
    idp = session.client("cognito-idp")
    pool = idp.create_user_pool(
        PoolName=names.user_pool,
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
        Policies={"PasswordPolicy": {"MinimumLength": 12, "RequireLowercase": True, "RequireUppercase": True,
                                     "RequireNumbers": True, "RequireSymbols": True,
                                     "TemporaryPasswordValidityDays": 3}},
        MfaConfiguration="OFF",
    )["UserPool"]
    for group in USER_GROUPS:
        idp.create_group(GroupName=group, UserPoolId=pool["Id"], Description=f"web app role: {group}")
    client = idp.create_user_pool_client(
        UserPoolId=pool["Id"], ClientName=f"{names.prefix}-web", GenerateSecret=False,
        ExplicitAuthFlows=AUTH_FLOWS, EnableTokenRevocation=True, PreventUserExistenceErrors="ENABLED",
    )["UserPoolClient"]
    return Directory(user_pool_id=pool["Id"], client_id=client["ClientId"], region=names.region)


def add_user(session: Any, directory: Directory, username: str, password: str, groups: tuple[str, ...]) -> None:
    """A confirmed user with a permanent password, in ``groups``."""
    idp = session.client("cognito-idp")
    idp.admin_create_user(UserPoolId=directory.user_pool_id, Username=username, MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "email", "Value": f"{username}@example.org"},
                                          {"Name": "email_verified", "Value": "true"}])
    idp.admin_set_user_password(UserPoolId=directory.user_pool_id, Username=username, Password=password,
                                Permanent=True)
    for group in groups:
        idp.admin_add_user_to_group(UserPoolId=directory.user_pool_id, Username=username, GroupName=group)


def sign_in(session: Any, directory: Directory, username: str, password: str) -> dict[str, Any]:
    """USER_PASSWORD_AUTH: the tokens (AccessToken, IdToken, RefreshToken, ExpiresIn)."""
    idp = session.client("cognito-idp")
    return dict(idp.initiate_auth(ClientId=directory.client_id, AuthFlow="USER_PASSWORD_AUTH",
                                  AuthParameters={"USERNAME": username, "PASSWORD": password})["AuthenticationResult"])


def find(session: Any, names: Names) -> Directory:
    """The stack's pool and app client, by their names (``genomics login`` on an operator's machine)."""
    idp = session.client("cognito-idp")
    pools = [p for page in idp.get_paginator("list_user_pools").paginate(MaxResults=60)
             for p in page.get("UserPools", []) if p.get("Name") == names.user_pool]
    if len(pools) != 1:
        raise LookupError(f"{len(pools)} user pools named {names.user_pool} (is the stack deployed?)")
    clients = [c for page in idp.get_paginator("list_user_pool_clients").paginate(UserPoolId=pools[0]["Id"])
               for c in page.get("UserPoolClients", []) if c.get("ClientName") == f"{names.prefix}-web"]
    if len(clients) != 1:
        raise LookupError(f"no app client {names.prefix}-web in {names.user_pool}")
    return Directory(user_pool_id=pools[0]["Id"], client_id=clients[0]["ClientId"], region=names.region)


# The demo's users: (username, groups, projects, partners). One password for all (printed by serve).
DEMO_PASSWORD = "Demo-password-1"
DEMO_USERS: tuple[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...] = (
    ("demo", ("researcher", "technician", "steward", "operator"), ("demo",), ()),
    ("other", ("researcher",), ("other",), ()),
    ("partner", ("partner",), (), ("acme",)),
)


def add_demo_users(session: Any, directory: Directory, members: Members, password: str = DEMO_PASSWORD) -> None:
    for username, groups, projects, partners in DEMO_USERS:
        add_user(session, directory, username, password, groups)
        for project in projects:
            members.add(username, project=project, by="local-demo")
        for partner in partners:
            members.add(username, partner=partner, by="local-demo")
