"""`genomics` subcommands about people and partners: web app sign-in and project membership, partner
deliveries and the partner book (Crypt4GH keys, receipts, the manifest-signing key)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from genomics.cli.common import EXIT_OK, CliError, connect, ledger_of, print_json


def cmd_members(args: argparse.Namespace) -> int:
    """Project membership (and partner affiliation) of web app users, kept in the ledger."""
    from genomics.webapp.members import Members

    if bool(args.partner) == bool(args.project):
        raise CliError("name a project, or --partner NAME (not both)", code="CLI_USAGE")
    session, names = connect(args)
    members = Members(names.table("metadata"), session.client("dynamodb"))
    scope = {"partner": args.partner} if args.partner else {"project": args.project}
    if args.members_command == "add":
        members.add(args.user, **scope, by=os.environ.get("USER") or "cli")
    elif args.members_command == "remove":
        members.remove(args.user, **scope)
    rows = members.members_of(**scope)
    if args.json:
        print_json({**scope, "members": rows})
    else:
        for row in rows:
            print(f"{row['username']}\tadded {row['added_at']} by {row['added_by']}")
    return EXIT_OK


def cmd_login(args: argparse.Namespace) -> int:
    """Cognito tokens for the CLI (the web app's user pool and app client), saved with mode 0600; the
    token itself is never printed."""
    import getpass
    import time

    from genomics.webapp import directory

    session, names = connect(args)
    try:
        users = directory.find(session, names)
    except LookupError as e:
        raise CliError(str(e), code="AWS_NOT_FOUND") from e
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("password: ")
    try:
        tokens = directory.sign_in(session, users, args.user, password)
    except session.client("cognito-idp").exceptions.NotAuthorizedException as e:
        raise CliError(f"{args.user}: wrong user name or password", code="CLI_LOGIN") from e
    path = token_path(names.stack)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"user": args.user, "user_pool_id": users.user_pool_id, "client_id": users.client_id,
                   "expires_at": int(time.time()) + int(tokens.get("ExpiresIn", 3600)),
                   "access_token": tokens["AccessToken"], "id_token": tokens.get("IdToken"),
                   "refresh_token": tokens.get("RefreshToken")}, fh)
    print(f"signed in as {args.user} to {users.user_pool_id}; tokens in {path} "
          f"(send the access token as 'Authorization: Bearer ...' to the web API)")
    return EXIT_OK


def token_path(stack: str) -> Path:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "genomics" / f"tokens-{stack}.json"


def _signer(args: argparse.Namespace, session: Any, names: Any) -> Any:
    """The manifest signer: a PEM key file (--signing-key, local or offline), else the stack's KMS key."""
    from pathlib import Path

    from genomics.drs.signing import KmsSigner, LocalSigner

    if getattr(args, "signing_key", None):
        return LocalSigner(Path(args.signing_key))
    return KmsSigner(session.client("kms"), names.signing_key_alias)


def cmd_deliver(args: argparse.Namespace) -> int:
    from genomics.delivery import Encryption, deliver
    from genomics.drs.crypt import fingerprint
    from genomics.drs.partners import Partners, PartnerUnknown

    session, names = connect(args)
    ledger = ledger_of(session, names)
    partners = Partners(ledger)
    encryption = None
    try:
        key = partners.public_key(args.partner)
    except PartnerUnknown:
        key = None  # not registered: the plain copy to a partner account's prefix (docs/partners.md)
    if key is not None:
        encryption = Encryption(key, fingerprint(key), _signer(args, session, names), partners)
    result = deliver(
        ledger,
        session.client("s3"),
        project=args.project,
        partner=args.partner,
        delivery_bucket=names.bucket("delivery"),
        processed_bucket=names.bucket("processed"),
        delivery_id=args.delivery_id,
        samples=set(args.sample) if args.sample else None,
        encryption=encryption,
    )
    print_json(result)
    return EXIT_OK


def cmd_partner(args: argparse.Namespace) -> int:
    """The partner book: register a Crypt4GH public key, list partners, a partner's deliveries and their
    receipt state, the platform's manifest-signing public key."""
    from pathlib import Path

    from genomics.drs.api import delivery_view
    from genomics.drs.crypt import fingerprint, parse_public_key
    from genomics.drs.partners import Partners

    session, names = connect(args)
    partners = Partners(ledger_of(session, names))
    if args.partner_command == "add":
        from genomics.delivery import _PARTNER

        if not _PARTNER.match(args.name):
            raise CliError(f"partner name {args.name!r}: lower-case letters, digits and '-' (at most 63)",
                           code="DELIVERY_PARTNER_INVALID")
        previous = partners.find(args.name)  # a new key replaces the old one for future deliveries
        key = parse_public_key(Path(args.pubkey).read_bytes())
        item = partners.add(args.name, key, fingerprint(key), actor=os.environ.get("USER", "cli"))
        print_json({**{k: item[k] for k in ("partner", "key_fingerprint", "added_at")},
                     "replaced_fingerprint": previous["key_fingerprint"] if previous else None})
    elif args.partner_command == "list":
        print_json([{k: p.get(k) for k in ("partner", "key_fingerprint", "added_at")} for p in partners.names()])
    elif args.partner_command == "deliveries":
        partners.get(args.name)
        print_json([delivery_view(d, partners.objects(args.name, str(d["delivery_id"])))
                     for d in partners.deliveries(args.name)])
    else:
        print(_signer(args, session, names).public_key_pem(), end="")
    return EXIT_OK
