"""PartnerAccess: the manifest-signing key and one role per partner that may call only the partner routes.

Nothing is declared until the stack's ``partners`` config names a partner (an asymmetric KMS key costs
about $1 a month; a dev stack stays at ~$0 idle).

- **Signing key**: an asymmetric KMS key (``ECC_NIST_P256``, SIGN_VERIFY) with the alias
  ``alias/<prefix>-manifest-signing`` (``Names.signing_key_alias``), used by ``genomics deliver``
  (``genomics.drs.signing``) to sign each delivery's manifest checksum; the private half never leaves KMS.
  Its policy lets the account administer and use it through IAM (so only principals whose IAM policies
  grant ``kms:Sign`` on it can sign) and lets anyone of the account read the public half. Losing it would
  make past signatures unverifiable against a new key: in staging and prod it is protected and retained.
- **Partner roles** (``<prefix>-partner-<name>`` for each entry of the stack's ``partners`` config): trusted
  only by that partner's account, only with the external id ``<prefix>-partner-<name>``; allowed only
  ``execute-api:Invoke`` on the status API's partner routes (``genomics.drs.api.ROUTES``). The status-api
  function reads the partner from the role in the caller's ARN. No partner account is granted any bucket.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from genomics.deployment import SIGNING_KEY_SPEC, Names
from genomics.drs.api import ROUTES as PARTNER_ROUTES
from infra.api import _arn_route
from infra.common import inline_policy
from infra.config import StackConfig
from infra.naming import classified, stateful


@dataclass(frozen=True)
class PartnerAccessArgs:
    names: Names
    config: StackConfig
    api_execution_arn: pulumi.Input[str]


def signing_key_policy(names: Names) -> dict[str, object]:
    account = f"arn:{names.partition}:iam::{names.account_id}:root"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "AccountAdministersThroughIam", "Effect": "Allow", "Principal": {"AWS": account},
             "Action": "kms:*", "Resource": "*"},
        ],
    }


def partner_trust(names: Names, partner: str, account: str) -> dict[str, object]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{names.partition}:iam::{account}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": names.partner_role(partner)}},
            }
        ],
    }


class PartnerAccess(pulumi.ComponentResource):
    signing_key: aws.kms.Key | None
    sign_policy: aws.iam.Policy | None
    roles: dict[str, aws.iam.Role]

    def __init__(self, name: str, args: PartnerAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("genomics:partners:PartnerAccess", name, None, opts)
        names, config = args.names, args.config
        child = pulumi.ResourceOptions(parent=self)
        self.signing_key = None
        self.sign_policy = None
        self.roles = {}
        if not config.partners:  # an asymmetric key costs about $1 a month: none until there is a partner
            self.register_outputs({})
            return
        self.signing_key = aws.kms.Key(
            f"{name}-signing-key",
            description=f"{names.prefix}: signs partner-delivery manifests (genomics.drs.signing)",
            customer_master_key_spec=SIGNING_KEY_SPEC,
            key_usage="SIGN_VERIFY",
            deletion_window_in_days=30,
            policy=pulumi.Output.json_dumps(signing_key_policy(names)),
            tags=classified("pseudonymous-metadata"),
            opts=stateful(config, self),
        )
        aws.kms.Alias(
            f"{name}-signing-alias",
            name=names.signing_key_alias,
            target_key_id=self.signing_key.key_id,
            opts=child,
        )
        # What `genomics deliver` needs beyond data access to sign (attach to the operators' role).
        self.sign_policy = aws.iam.Policy(
            f"{name}-sign-policy",
            name=f"{names.prefix}-manifest-signing",
            description=f"Sign partner-delivery manifests with {names.signing_key_alias} (genomics deliver)",
            policy=pulumi.Output.json_dumps({
                "Version": "2012-10-17",
                "Statement": [{"Sid": "SignManifests", "Effect": "Allow",
                               "Action": ["kms:Sign", "kms:GetPublicKey"], "Resource": [self.signing_key.arn]}],
            }),
            opts=child,
        )
        self.roles = {}
        for partner, account in sorted(config.partners.items()):
            role = aws.iam.Role(
                f"{name}-{partner}",
                name=names.partner_role(partner),
                description=f"Partner {partner} (account {account}): the DRS and receipt routes of the status API only",
                assume_role_policy=pulumi.Output.json_dumps(partner_trust(names, partner, account)),
                max_session_duration=3600,
                opts=child,
            )
            inline_policy(f"{name}-{partner}-invoke", self, role=role, name="call-partner-routes", document={
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "CallPartnerRoutes",
                    "Effect": "Allow",
                    "Action": "execute-api:Invoke",
                    "Resource": [pulumi.Output.concat(args.api_execution_arn, "/$default/", _arn_route(r))
                                 for r in sorted(PARTNER_ROUTES)],
                }],
            })
            self.roles[partner] = role
        self.register_outputs({"signing_key_arn": self.signing_key.arn,
                               "partner_roles": {p: r.arn for p, r in self.roles.items()}})
