"""infra.config: stack files parse into typed settings; malformed values are rejected with the key."""

from __future__ import annotations

import pytest

from genomics.deployment import Settings
from infra.config import ConfigError, parse_partners, settings_from, stack_config_from
from tests.infra.resources import PROJECT, STACKS, stack_config


@pytest.mark.parametrize("stack", STACKS)
def test_config_stack_file_parses(stack: str) -> None:
    raw = stack_config(stack)
    config = stack_config_from(stack, lambda key: raw.get(f"{PROJECT}:{key}"))
    assert config.stack == stack and config.settings.stack == stack
    assert config.settings.log_retention_days == int(raw[f"{PROJECT}:logRetentionDays"])


def test_config_prod_is_hardened_and_dev_is_cheap() -> None:
    def load(stack: str):
        raw = stack_config(stack)
        return stack_config_from(stack, lambda key: raw.get(f"{PROJECT}:{key}"))

    prod, dev = load("prod"), load("dev")
    assert prod.kms and prod.pitr and prod.deletion_protection and prod.vpc and not prod.force_destroy
    assert not dev.kms and not dev.vpc and dev.reserved_concurrency is None


def test_config_settings_keys_are_camel_case_fields() -> None:
    values = {"logLevel": "DEBUG", "heavyMemoryMb": "4096", "priceSfnTransition": "0.5", "qcThresholds": "{}"}
    settings = settings_from("dev", values.get)
    assert settings == Settings(stack="dev", log_level="DEBUG", heavy_memory_mb=4096, price_sfn_transition=0.5,
                                qc_thresholds_json="{}")


def test_config_rejects_malformed_number() -> None:
    with pytest.raises(ConfigError, match="heavyMemoryMb"):
        settings_from("dev", {"heavyMemoryMb": "lots"}.get)


def test_config_rejects_bad_partner_account() -> None:
    with pytest.raises(ConfigError, match="12 digits"):
        parse_partners('{"lab": "1234"}')


def test_config_rejects_unknown_storage_class() -> None:
    with pytest.raises(ConfigError, match="rawStorageClass"):
        stack_config_from("dev", {"rawStorageClass": "DEEP_ARCHIVE"}.get)


def test_config_rejects_non_boolean_flag() -> None:
    with pytest.raises(ConfigError, match="kms"):
        stack_config_from("dev", {"kms": "yes"}.get)


def test_config_status_api_throttling_parsed_and_positive() -> None:
    config = stack_config_from("dev", {"apiRateLimit": "5.5", "apiBurstLimit": "11"}.get)
    assert (config.api_rate_limit, config.api_burst_limit) == (5.5, 11)
    with pytest.raises(ConfigError, match="apiRateLimit"):
        stack_config_from("dev", {"apiRateLimit": "0"}.get)


def test_config_real_partner_account_accepted_and_placeholders_refused() -> None:
    from infra.config import is_placeholder_account

    for account in ("111122223333", "444455556666", "123456789012", "210987654321", "000000000000",
                    "121212121212", "345678901234"):
        assert is_placeholder_account(account), account
    for account in ("503857134220", "730335192611", "905418049172"):
        assert not is_placeholder_account(account), account
    config = stack_config_from("dev", {"partners": '{"lab": "503857134220"}',
                                           "alertEmail": "oncall@genomics-ops.org"}.get)
    assert config.partners == {"lab": "503857134220"}


def test_config_alert_email_required_in_staging_and_prod_not_dev() -> None:
    assert stack_config_from("dev", {}.get).alert_email is None
    for stack in ("staging", "prod"):
        with pytest.raises(ConfigError, match="alertEmail"):
            stack_config_from(stack, {"kms": "true", "deletionProtection": "true", "rawLockDays": "365",
                                      "noncurrentVersionDays": "365", "auditLogDays": "2192",
                                      "accessLogDays": "2192", "logRetentionDays": "90"}.get)


def test_config_placeholder_alert_address_refused() -> None:
    with pytest.raises(ConfigError, match="alertEmail"):
        stack_config_from("dev", {"alertEmail": "ops@example.com"}.get)


def test_config_stack_with_other_name_needs_a_tier() -> None:
    with pytest.raises(ConfigError, match="tier"):
        stack_config_from("eu-prod", {}.get)
    assert stack_config_from("sandbox", {"tier": "dev"}.get).tier == "dev"


def test_config_repository_stack_files_name_no_partner() -> None:
    """Partners are added by the operator with real account ids (docs/deploy.md), never shipped."""
    for stack in STACKS:
        assert stack_config(stack).get(f"{PROJECT}:partners") in (None, "{}"), stack
