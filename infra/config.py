"""Stack configuration: the ONLY module that reads ``pulumi.Config``.

Every key lives in the ``genomics-platform`` namespace of ``Pulumi.<stack>.yaml``. Keys that reach the
functions fill :class:`genomics.deployment.Settings` (camelCase of its field names: ``logLevel``,
``logRetentionDays``, ``heavyMemoryMb`` ...); absent keys keep the defaults of ``Settings``. The other
keys shape the infrastructure (see ``docs/deploy.md`` for the table of keys per stack).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi

from genomics.deployment import Settings

RawStorageClass = Literal["INTELLIGENT_TIERING", "GLACIER_IR"]
_STORAGE_CLASSES: tuple[str, ...] = ("INTELLIGENT_TIERING", "GLACIER_IR")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_PARTNER_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class ConfigError(ValueError):
    """A stack configuration value is missing, malformed or out of range."""


@dataclass(frozen=True)
class StackConfig:
    """Everything the program needs from ``Pulumi.<stack>.yaml``, typed and validated."""

    stack: str
    settings: Settings
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
    # Partner name -> AWS account id; each gets read-only access to delivery partners/<name>/*.
    partners: Mapping[str, str] = field(default_factory=dict)
    # Private subnets with VPC endpoints for the functions (no NAT).
    vpc: bool = False
    vpc_cidr: str = "10.42.0.0/16"
    # Alerts: optional e-mail subscription of the alerts topic; monthly cost budget (USD).
    alert_email: str | None = None
    monthly_budget_usd: float = 50.0
    # The status API's throttling (requests per second, steady and burst), per stack.
    api_rate_limit: float = 20.0
    api_burst_limit: int = 40


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
        kind = type(default) if default is not None else (int if f.name == "reserved_concurrency" else str)
        values[f.name] = _convert(key, raw, kind)
    config = dataclasses.replace(
        defaults, settings=settings_from(stack, get), partners=parse_partners(get("partners")), **values
    )
    if config.raw_storage_class not in _STORAGE_CLASSES:
        raise ConfigError(f"config key 'rawStorageClass': one of {_STORAGE_CLASSES}")
    if config.reserved_concurrency is not None and config.reserved_concurrency < 1:
        raise ConfigError("config key 'reservedConcurrency': at least 1 (omit it for unreserved)")
    for name in ("raw_transition_days", "noncurrent_version_days", "access_log_days"):
        if getattr(config, name) < 1:
            raise ConfigError(f"config key {_camel(name)!r}: at least 1")
    if config.api_rate_limit <= 0 or config.api_burst_limit < 1:
        raise ConfigError("config keys 'apiRateLimit' / 'apiBurstLimit': positive")
    if config.settings.map_concurrency < 1:
        raise ConfigError("config key 'mapConcurrency': at least 1")
    return config


def load() -> StackConfig:
    """Read the current stack's configuration."""
    cfg = pulumi.Config()
    return stack_config_from(pulumi.get_stack(), cfg.get)
