"""The web app in local mode: demo users in moto's Cognito pool, and the local API Gateway in front of the
deployed web-api function (``genomics local serve`` and ``genomics local demo`` start it)."""

from __future__ import annotations

from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from typing import Any

import boto3

from genomics.local.deploy import LocalStack
from genomics.webapp import directory
from genomics.webapp.gateway import Gateway, JwtAuthorizer, lambda_invoker, serve
from genomics.webapp.members import Members


@dataclass
class LocalWeb:
    url: str
    server: ThreadingHTTPServer
    directory: directory.Directory
    authorizer: JwtAuthorizer

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start(stack: LocalStack, endpoint: str, *, session: Any = None, demo_users: bool = True,
          port: int = 0) -> LocalWeb:
    """Add the demo users (and their memberships) and serve the app on 127.0.0.1."""
    session = session or boto3.Session(region_name=stack.names.region)
    users: directory.Directory = stack.users
    if demo_users:
        members = Members(stack.names.table("metadata"), session.client("dynamodb"))
        directory.add_demo_users(session, users, members)
    authorizer = JwtAuthorizer(issuer=users.issuer, audiences=(users.client_id,),
                               jwks_url=f"{endpoint.rstrip('/')}/{users.user_pool_id}/.well-known/jwks.json")
    gateway = Gateway(authorizer, lambda_invoker(stack.names.function("web-api"), session))
    server = serve(gateway, port)
    return LocalWeb(url=f"http://127.0.0.1:{server.server_address[1]}/", server=server, directory=users,
                    authorizer=authorizer)


def banner(web: LocalWeb) -> str:
    """What ``genomics local serve`` / ``make demo`` print: the URL and the demo users."""
    lines = [f"web app: {web.url}"]
    for username, groups, projects, partners in directory.DEMO_USERS:
        scope = ", ".join([*(f"project {p}" for p in projects), *(f"partner {p}" for p in partners)])
        lines.append(f"  sign in as {username} / {directory.DEMO_PASSWORD}  ({', '.join(groups)}; {scope})")
    return "\n".join(lines)
