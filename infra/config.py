"""Stack configuration: the ONLY module that reads ``pulumi.Config``.

Every key lives in the ``genomics-platform`` namespace of ``Pulumi.<stack>.yaml``. Keys that reach the
functions fill :class:`genomics.deployment.Settings` (camelCase of its field names: ``logLevel``,
``logRetentionDays``, ``heavyMemoryMb`` ...); absent keys keep the defaults of ``Settings``. The other
keys shape the infrastructure (see ``docs/deploy.md`` for the table of keys per stack).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi

from genomics.deployment import TABLE_NAMINGS, Settings, TableNaming

RawStorageClass = Literal["INTELLIGENT_TIERING", "GLACIER_IR"]
Tier = Literal["dev", "staging", "prod"]
LockMode = Literal["GOVERNANCE", "COMPLIANCE"]
_STORAGE_CLASSES: tuple[str, ...] = ("INTELLIGENT_TIERING", "GLACIER_IR")
_TIERS: tuple[str, ...] = ("dev", "staging", "prod")
_LOCK_MODES: tuple[str, ...] = ("GOVERNANCE", "COMPLIANCE")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_PARTNER_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_EMAIL = re.compile(r"^[^@\s]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,}$")

# ---------------------------------------------------------------------------------------------------
# Floors: the least a stack of each tier may configure. Constants in code, never read from config, so
# lowering a value in Pulumi.<stack>.yaml fails the preview instead of weakening the stack.
# ---------------------------------------------------------------------------------------------------
SIX_YEARS_DAYS = 6 * 365 + 2  # HIPAA 45 CFR 164.316(b)(2): documentation kept six years (leap days)
PROTECTED_TIERS: frozenset[str] = frozenset({"staging", "prod"})
# CloudTrail log bucket and the S3 server-access-log bucket: retention (days) and Object Lock floors.
AUDIT_LOG_DAYS_FLOOR: Mapping[str, int] = {"dev": 1, "staging": 90, "prod": SIX_YEARS_DAYS}
ACCESS_LOG_DAYS_FLOOR: Mapping[str, int] = {"dev": 1, "staging": 90, "prod": SIX_YEARS_DAYS}
# Object Lock (governance) retention of raw uploads; 0 = no lock (dev only).
RAW_LOCK_DAYS_FLOOR: Mapping[str, int] = {"dev": 0, "staging": 7, "prod": 365}
# CloudWatch log groups (function, workflow and API access logs).
LOG_RETENTION_DAYS_FLOOR: Mapping[str, int] = {"dev": 1, "staging": 30, "prod": 90}
# CloudWatch Logs accepts only these retention values.
LOG_RETENTION_VALUES: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)

# AWS documentation's example account ids (IAM, Organizations, S3, KMS and CLI guides). A deployment that
# names one of them grants access to an account nobody controls, or to a stranger's.
PLACEHOLDER_ACCOUNT_IDS: frozenset[str] = frozenset({
    "111122223333", "123456789012", "444455556666", "210987654321", "123456789000", "012345678901",
    "098765432109", "999988887777", "777788889999", "555555555555", "111111111111", "222222222222",
    "333333333333", "444444444444", "666666666666", "777777777777", "888888888888", "999999999999",
    "000000000000", "123412341234", "112233445566", "111222333444", "123123123123", "987654321098",
})
# Patterns of made-up ids: one digit repeated; four-digit runs of one digit (1111 2222 3333); a short
# block repeated (123412341234, 121212121212); a straight ascending or descending digit run.
_PLACEHOLDER_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"^(\d)\1{11}$"),
    re.compile(r"^(\d)\1{3}(\d)\2{3}(\d)\3{3}$"),
    re.compile(r"^(\d{1,6})\1+$"),
)
_PLACEHOLDER_EMAIL_DOMAINS: frozenset[str] = frozenset(
    {"example.com", "example.org", "example.net", "example.edu", "test", "invalid", "localhost"}
)


def is_placeholder_account(account: str) -> bool:
    """True for an AWS documentation example account id or an obviously made-up one."""
    if account in PLACEHOLDER_ACCOUNT_IDS or any(p.match(account) for p in _PLACEHOLDER_PATTERNS):
        return True
    digits = [int(c) for c in account]
    steps = {(b - a) % 10 for a, b in itertools.pairwise(digits)}
    return steps in ({1}, {9})  # 123456789012, 210987654321, 345678901234 ...


class ConfigError(ValueError):
    """A stack configuration value is missing, malformed or out of range."""


@dataclass(frozen=True)
class StackConfig:
    """Everything the program needs from ``Pulumi.<stack>.yaml``, typed and validated."""

    stack: str
    settings: Settings
    # Which floors and protections apply: dev, staging or prod (defaults to the stack name when it is one
    # of those; a stack with another name must say, e.g. ``tier: prod`` for ``prod-eu``).
    tier: str = ""
    # SSE-KMS with a customer managed key for the data buckets (prod); SSE-S3 otherwise.
    kms: bool = False
    # DynamoDB point-in-time recovery and deletion protection.
    pitr: bool = True
    deletion_protection: bool = False
    # Reserved concurrency per function; None leaves the functions unreserved (no cost either way).
    reserved_concurrency: int | None = None
    # Raw objects move to a cheaper class after this many days; noncurrent versions expire after that many.
    raw_transition_days: int = 30
    raw_storage_class: RawStorageClass = "INTELLIGENT_TIERING"
    noncurrent_version_days: int = 30
    access_log_days: int = 90
    # Buckets and the image repository can be deleted with their contents (dev only).
    force_destroy: bool = False
    # Partner name -> AWS account id; each gets a role that may call only the DRS routes (infra.partners).
    partners: Mapping[str, str] = field(default_factory=dict)
    # Private subnets with VPC endpoints for the functions (no NAT).
    vpc: bool = False
    vpc_cidr: str = "10.42.0.0/16"
    # Alerts: e-mail subscription of the alerts topic (required in staging/prod); monthly budget (USD).
    alert_email: str | None = None
    # Audit trail: CloudTrail log retention (days, Object Lock on the log bucket) and S3 data events on the
    # data buckets (None: on in staging/prod, off in dev).
    audit_log_days: int = 30
    audit_data_events: bool | None = None
    # Object Lock mode of the two log buckets (GOVERNANCE: removable with s3:BypassGovernanceRetention;
    # COMPLIANCE: by nobody, not even the root user, until the retention ends).
    audit_lock_mode: LockMode = "GOVERNANCE"
    # Object Lock (governance) retention of raw uploads in days; 0 = no lock. Changing 0 -> >0 on an
    # existing stack replaces the raw bucket (docs/deploy.md: migration).
    raw_lock_days: int = 0
    # Cross-region replication of raw uploads (prod, optional): the replica's region, "" = off.
    raw_replica_region: str = ""
    # GDPR storage limitation: processed outputs and deliveries expire after these many days (0 = kept).
    processed_expiry_days: int = 0
    delivery_expiry_days: int = 0
    # X-Ray tracing of the functions and the workflow.
    tracing: bool = False
    # API 4xx answers in five minutes above which the 4xx alarm fires.
    api_4xx_threshold: int = 50
    monthly_budget_usd: float = 50.0
    # The status API's throttling (requests per second, steady and burst), per stack.
    api_rate_limit: float = 20.0
    api_burst_limit: int = 40
    # The tables' physical names: "ledger" (genomics-<stack>-ledger-<role>), or "seed" for a stack deployed
    # with the seed diagram's names, which it keeps (a renamed table is a new, empty one: docs/deploy.md).
    table_names: TableNaming = "ledger"


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _convert(key: str, raw: str, kind: type) -> Any:
    try:
        if kind is bool:
            if raw.lower() not in ("true", "false"):
                raise ValueError(raw)
            return raw.lower() == "true"
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
    except ValueError as e:
        raise ConfigError(f"config key {key!r}: expected {kind.__name__}, got {raw!r}") from e
    return raw


def settings_from(stack: str, get: Callable[[str], str | None]) -> Settings:
    """Build ``Settings`` from a key -> string lookup (camelCase keys); absent keys keep the defaults."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(Settings):
        if f.name == "stack":
            continue
        key = "qcThresholds" if f.name == "qc_thresholds_json" else _camel(f.name)
        raw = get(key)
        if raw is None:
            continue
        if f.name == "qc_thresholds_json":
            try:
                json.loads(raw)
            except json.JSONDecodeError as e:
                raise ConfigError(f"config key 'qcThresholds': not JSON: {e}") from e
        values[f.name] = _convert(key, raw, type(f.default))
    return Settings(stack=stack, **values)


def parse_partners(raw: str | None) -> dict[str, str]:
    """``{"name": "123456789012"}`` (JSON) -> validated dict; names become key prefixes."""
    if raw is None:
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ConfigError(f"config key 'partners': not JSON: {e}") from e
    if not isinstance(data, dict):
        raise ConfigError("config key 'partners': expected a map of partner name -> AWS account id")
    partners: dict[str, str] = {}
    for name, account in data.items():
        if not _PARTNER_NAME.match(str(name)):
            raise ConfigError(f"config key 'partners': name {name!r} must be lowercase letters, digits, '-'")
        if not _ACCOUNT_ID.match(str(account)):
            raise ConfigError(f"config key 'partners': account of {name!r} must be 12 digits, got {account!r}")
        partners[str(name)] = str(account)
    return partners


_NONE_DEFAULT_KINDS: dict[str, type] = {"reserved_concurrency": int, "audit_data_events": bool}


def stack_config_from(stack: str, get: Callable[[str], str | None]) -> StackConfig:
    """Pure: build the typed configuration from a key -> string lookup (what ``pulumi.Config`` holds)."""
    defaults = StackConfig(stack=stack, settings=Settings(stack=stack))
    values: dict[str, Any] = {}
    for f in dataclasses.fields(StackConfig):
        if f.name in ("stack", "settings", "partners"):
            continue
        key = _camel(f.name)
        raw = get(key)
        if raw is None:
            continue
        default = getattr(defaults, f.name)
        kind = type(default) if default is not None else _NONE_DEFAULT_KINDS.get(f.name, str)
        values[f.name] = _convert(key, raw, kind)
    config = dataclasses.replace(
        defaults, settings=settings_from(stack, get), partners=parse_partners(get("partners")), **values
    )
    if config.raw_storage_class not in _STORAGE_CLASSES:
        raise ConfigError(f"config key 'rawStorageClass': one of {_STORAGE_CLASSES}")
    if config.table_names not in TABLE_NAMINGS:
        raise ConfigError(f"config key 'tableNames': one of {TABLE_NAMINGS}")
    if config.reserved_concurrency is not None and config.reserved_concurrency < 1:
        raise ConfigError("config key 'reservedConcurrency': at least 1 (omit it for unreserved)")
    for name in ("raw_transition_days", "noncurrent_version_days", "access_log_days"):
        if getattr(config, name) < 1:
            raise ConfigError(f"config key {_camel(name)!r}: at least 1")
    if config.api_rate_limit <= 0 or config.api_burst_limit < 1:
        raise ConfigError("config keys 'apiRateLimit' / 'apiBurstLimit': positive")
    if config.settings.map_concurrency < 1:
        raise ConfigError("config key 'mapConcurrency': at least 1")
    if config.settings.fargate and not config.vpc:
        raise ConfigError("config key 'fargate': the Fargate QC path runs in the VPC's private subnets; set vpc: true")
    if config.settings.fargate_vcpu not in (1, 2, 4, 8, 16):
        raise ConfigError("config key 'fargateVcpu': one of 1, 2, 4, 8, 16 (Fargate task sizes)")
    return check_safe(config)


def _tier_of(config: StackConfig) -> StackConfig:
    tier = config.tier or (config.stack if config.stack in _TIERS else "")
    if tier not in _TIERS:
        raise ConfigError(
            f"config key 'tier': stack {config.stack!r} is not dev/staging/prod by name; set tier to one of {_TIERS}"
        )
    return dataclasses.replace(config, tier=tier)


def check_safe(config: StackConfig) -> StackConfig:
    """Refuse a configuration that would deploy something unsafe (runs before any resource is declared).

    Fails on: a placeholder partner account id; a missing or placeholder alert e-mail in staging/prod;
    retention below the tier's floor; PITR, deletion protection or the KMS key switched off where the tier
    requires them. Returns the configuration with ``tier`` resolved.
    """
    config = _tier_of(config)
    problems = [*_contact_problems(config), *_retention_problems(config), *_safeguard_problems(config)]
    if problems:
        raise ConfigError(
            f"stack {config.stack!r} ({config.tier}): unsafe configuration:\n  - " + "\n  - ".join(problems)
        )
    return config


def _contact_problems(config: StackConfig) -> list[str]:
    """Placeholder partner accounts; an alert e-mail that cannot be delivered, or none in staging/prod."""
    problems: list[str] = []
    for name, account in sorted(config.partners.items()):
        if is_placeholder_account(account):
            problems.append(
                f"config key 'partners': {name!r} has account {account}, an AWS documentation placeholder; "
                "set the partner's real account id or remove the entry"
            )
    if config.alert_email is not None:
        domain = config.alert_email.rsplit("@", 1)[-1].lower()
        if not _EMAIL.match(config.alert_email) or domain in _PLACEHOLDER_EMAIL_DOMAINS or domain.endswith(
            (".example", ".test", ".invalid")
        ):
            problems.append(f"config key 'alertEmail': {config.alert_email!r} is not a deliverable address")
    elif config.tier in PROTECTED_TIERS:
        problems.append(
            f"config key 'alertEmail': required in {config.tier} (alarms and the budget must reach someone): "
            "`pulumi config set alertEmail ops@your-domain`"
        )
    return problems


def _retention_problems(config: StackConfig) -> list[str]:
    """Retention below the tier's floors, log retention CloudWatch does not accept, noncurrent versions kept
    shorter than the Object Lock, negative expiry days, an unknown audit lock mode."""
    tier = config.tier
    problems: list[str] = []
    floors = (
        ("audit_log_days", AUDIT_LOG_DAYS_FLOOR),
        ("access_log_days", ACCESS_LOG_DAYS_FLOOR),
        ("raw_lock_days", RAW_LOCK_DAYS_FLOOR),
    )
    for name, floor in floors:
        if getattr(config, name) < floor[tier]:
            problems.append(
                f"config key {_camel(name)!r}: {getattr(config, name)} days is below the {tier} floor of "
                f"{floor[tier]} days"
            )
    retention = config.settings.log_retention_days
    if retention < LOG_RETENTION_DAYS_FLOOR[tier]:
        problems.append(
            f"config key 'logRetentionDays': {retention} days is below the {tier} floor of "
            f"{LOG_RETENTION_DAYS_FLOOR[tier]} days"
        )
    if retention not in LOG_RETENTION_VALUES:
        problems.append(f"config key 'logRetentionDays': CloudWatch accepts only {LOG_RETENTION_VALUES}")
    if config.raw_lock_days and config.noncurrent_version_days < config.raw_lock_days:
        problems.append(
            f"config key 'noncurrentVersionDays': {config.noncurrent_version_days} days is shorter than the raw "
            f"Object Lock retention ({config.raw_lock_days} days); keep noncurrent versions at least as long"
        )
    for name in ("processed_expiry_days", "delivery_expiry_days", "audit_log_days", "raw_lock_days"):
        if getattr(config, name) < 0:
            problems.append(f"config key {_camel(name)!r}: not negative")
    if config.audit_lock_mode not in _LOCK_MODES:
        problems.append(f"config key 'auditLockMode': one of {_LOCK_MODES}")
    return problems


def _safeguard_problems(config: StackConfig) -> list[str]:
    """PITR, deletion protection or the KMS key off where the tier requires them, force-destroy in
    staging/prod, replication without the Object Lock, a 4xx alarm threshold below 1."""
    tier = config.tier
    problems: list[str] = []
    if tier in PROTECTED_TIERS:
        for flag in ("pitr", "deletion_protection"):
            if not getattr(config, flag):
                problems.append(f"config key {_camel(flag)!r}: must be true in {tier}")
        if config.force_destroy:
            problems.append(f"config key 'forceDestroy': must be false in {tier}")
    if tier == "prod" and not config.kms:
        problems.append("config key 'kms': must be true in prod (customer-managed keys for sample data)")
    if config.raw_replica_region and not config.raw_lock_days:
        problems.append("config key 'rawReplicaRegion': replication needs the raw bucket's Object Lock "
                        "(rawLockDays > 0) so replicas are locked too")
    if config.api_4xx_threshold < 1:
        problems.append("config key 'api4xxThreshold': at least 1")
    return problems


def audit_data_events(config: StackConfig) -> bool:
    """S3 data events on the data buckets: the stack's choice, else on in staging/prod."""
    if config.audit_data_events is not None:
        return config.audit_data_events
    return config.tier in PROTECTED_TIERS


def protected(config: StackConfig) -> bool:
    """Stateful resources carry ``protect``/``retain_on_delete`` (staging and prod)."""
    return config.tier in PROTECTED_TIERS


def load() -> StackConfig:
    """Read the current stack's configuration."""
    cfg = pulumi.Config()
    return stack_config_from(pulumi.get_stack(), cfg.get)
