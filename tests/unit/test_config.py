"""The layered config: precedence, validation messages, inheritance, redaction, schema."""

from __future__ import annotations

from pathlib import Path

import pytest

from cocusctl.core.config import config_json_schema, load_config, redacted_dump
from cocusctl.core.errors import ConfigError, UsageError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cocus.yaml"
    path.write_text(text)
    return path


def test_defaults_give_a_local_environment(tmp_path: Path) -> None:
    loaded = load_config(environ={}, cwd=tmp_path)
    env = loaded.environment()
    assert loaded.path is None
    assert env.name == "local"
    assert env.registry.url == "127.0.0.1:5000/cocus" and env.registry.insecure
    assert env.settings.infrastructure is False
    assert loaded.source_of("service.size_budget_mb") == "default"


def test_precedence_flag_over_env_over_file_over_default(tmp_path: Path) -> None:
    path = write(tmp_path, "service:\n  size_budget_mb: 300\n  image: from-file\n")
    environ = {"COCUSCTL_SERVICE__SIZE_BUDGET_MB": "200", "COCUSCTL_SERVICE__IMAGE": "from-env"}
    loaded = load_config(path, environ=environ, flags={"service.size_budget_mb": 100})
    assert loaded.config.service.size_budget_mb == 100
    assert loaded.source_of("service.size_budget_mb") == "flag"
    assert loaded.config.service.image == "from-env"
    assert loaded.source_of("service.image") == "env COCUSCTL_SERVICE__IMAGE"
    assert loaded.config.service.name == "cocus-rag"
    assert loaded.source_of("service.name") == "default"


def test_file_values_name_the_file_as_their_source(tmp_path: Path) -> None:
    path = write(tmp_path, "service:\n  size_budget_mb: 300\n")
    loaded = load_config(path, environ={})
    assert loaded.source_of("service.size_budget_mb") == str(path)


def test_env_lists_are_parsed_as_yaml(tmp_path: Path) -> None:
    loaded = load_config(environ={"COCUSCTL_SCAN__FAIL_ON": "[CRITICAL]"}, cwd=tmp_path)
    assert loaded.config.scan.fail_on == ["CRITICAL"]


def test_cli_option_variables_are_not_config_fields(tmp_path: Path) -> None:
    loaded = load_config(environ={"COCUSCTL_ENV": "prod", "COCUSCTL_OUTPUT": "json"}, cwd=tmp_path)
    assert loaded.config.default_environment == "local"


def test_unknown_key_in_file_names_file_and_path(tmp_path: Path) -> None:
    path = write(tmp_path, "service:\n  size_budgett: 3\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert str(info.value) == (
        f"{path}: service.size_budgett: unknown key (check the spelling; `cocusctl config schema` lists the keys)"
    )


def test_unknown_env_variable_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^env COCUSCTL_SERVISE__IMAGE: servise: unknown key"):
        load_config(environ={"COCUSCTL_SERVISE__IMAGE": "x"}, cwd=tmp_path)


def test_wrong_type_shows_what_was_expected_and_got(tmp_path: Path) -> None:
    path = write(tmp_path, "service:\n  size_budget_mb: big\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert "service.size_budget_mb: Input should be a valid integer" in str(info.value)
    assert "(got 'big')" in str(info.value)


def test_insecure_registry_only_on_loopback(tmp_path: Path) -> None:
    path = write(tmp_path, "registry:\n  url: registry.example.com/team\n  insecure: true\n")
    with pytest.raises(ConfigError, match="only allowed on loopback, not 'registry.example.com'"):
        load_config(path, environ={})
    ok = write(tmp_path, "registry:\n  url: localhost:5001/team\n  insecure: true\n")
    assert load_config(ok, environ={}).config.registry.netloc == "localhost:5001"


def test_artifact_registry_url_is_recognised(tmp_path: Path) -> None:
    path = write(tmp_path, "registry:\n  url: https://europe-west1-docker.pkg.dev/my-proj/apps/\n")
    registry = load_config(path, environ={}).config.registry
    assert registry.url == "europe-west1-docker.pkg.dev/my-proj/apps"
    assert registry.is_artifact_registry and registry.repository == "my-proj/apps"


def test_malformed_registry_url(tmp_path: Path) -> None:
    path = write(tmp_path, "registry:\n  url: 'not a url'\n")
    with pytest.raises(ConfigError, match=r"registry.url: Value error, expected HOST\[:PORT\]/REPOSITORY"):
        load_config(path, environ={})


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "service:\n  image: [unclosed\n")
    with pytest.raises(ConfigError, match=r"cocus.yaml: line \d+"):
        load_config(path, environ={})


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml", environ={})


def test_unknown_environment_lists_known_ones(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"unknown environment 'prod' \(configured: local\)"):
        load_config(environ={}, cwd=tmp_path).environment("prod")


def test_environment_scan_overrides_single_fields(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "scan:\n  fail_on: [CRITICAL]\n"
        "environments:\n  local:\n    scan:\n      allow_missing_vuln_db: true\n"
        "  prod:\n    project: p\n",
    )
    loaded = load_config(path, environ={})
    local = loaded.environment("local")
    assert local.scan.fail_on == ["CRITICAL"] and local.scan.allow_missing_vuln_db is True
    prod = loaded.environment("prod")
    assert prod.scan.fail_on == ["CRITICAL"] and prod.scan.allow_missing_vuln_db is False


def test_environment_build_args_override_service_build_args(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "service:\n  build_args: {BASE_IMAGE: python:3.11-slim-bookworm, PIP_INDEX: x}\n"
        "environments:\n  local:\n    build_args: {BASE_IMAGE: local/base}\n",
    )
    env = load_config(path, environ={}).environment("local")
    assert env.build_args == {"BASE_IMAGE": "local/base", "PIP_INDEX": "x"}


def test_default_environment_must_exist(tmp_path: Path) -> None:
    path = write(tmp_path, "default_environment: prod\n")
    with pytest.raises(ConfigError, match="default_environment 'prod' is not one of: local"):
        load_config(path, environ={})


def test_secrets_are_redacted(tmp_path: Path) -> None:
    path = write(tmp_path, "registry:\n  url: 127.0.0.1:5000/x\n  username: u\n  password: hunter2\n")
    dumped = redacted_dump(load_config(path, environ={}).config)
    assert "hunter2" not in repr(dumped)
    assert dumped["registry"]["username"] == "u"
    assert dumped["scan"]["fail_on_secrets"] is True


def test_schema_lists_every_top_level_key() -> None:
    schema = config_json_schema()
    assert set(schema["properties"]) == {
        "version", "project", "service", "registry", "scan", "output_dir", "default_environment", "environments", "ci",
    }
    assert schema["additionalProperties"] is False


def test_repository_config_is_valid() -> None:
    root = Path(__file__).resolve().parents[2]
    loaded = load_config(root / "cocus.yaml", environ={})
    assert loaded.environment("local").build_args["BASE_IMAGE"] == "cocus/python-base:3.11-bookworm"


def test_env_variable_reaches_hyphenated_environment_and_keeps_map_key_case(tmp_path: Path) -> None:
    path = write(tmp_path, "environments:\n  local:\n    project: a\n  local-staging:\n    project: b\n")
    environ = {
        "COCUSCTL_ENVIRONMENTS__LOCAL_STAGING__REVISION__ENV__COCUS_LOG_LEVEL": "DEBUG",
        "COCUSCTL_ENVIRONMENTS__LOCAL_STAGING__BUILD_ARGS__BASE_IMAGE": "img",
    }
    loaded = load_config(path, environ=environ)
    staging = loaded.environment("local-staging")
    assert staging.settings.revision.env == {"COCUS_LOG_LEVEL": "DEBUG"}
    assert staging.build_args == {"BASE_IMAGE": "img"}
    assert loaded.source_of("environments.local-staging.revision.env.COCUS_LOG_LEVEL").startswith("env ")


def test_env_variable_for_an_unknown_environment_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"environments: no entry 'stagin' \(configured: local\)"):
        load_config(environ={"COCUSCTL_ENVIRONMENTS__STAGIN__PROJECT": "x"}, cwd=tmp_path)


def test_string_settings_keep_numeric_looking_values_from_the_environment(tmp_path: Path) -> None:
    environ = {
        "COCUSCTL_ENVIRONMENTS__LOCAL__REVISION__ENV__X": "11609",
        "COCUSCTL_ENVIRONMENTS__LOCAL__PROJECT": "0123",
        "COCUSCTL_REGISTRY__PASSWORD": "007",
        "COCUSCTL_SERVICE__SIZE_BUDGET_MB": "300",  # an int field still gets a number
        "COCUSCTL_ENVIRONMENTS__LOCAL__RELEASE__CANARY_STEPS": "[25, 100]",  # and a list field a list
    }
    loaded = load_config(environ=environ, cwd=tmp_path)
    env = loaded.environment("local")
    assert env.settings.revision.env == {"X": "11609"}
    assert env.settings.project == "0123"
    assert loaded.config.registry.password is not None and loaded.config.registry.password.get_secret_value() == "007"
    assert loaded.config.service.size_budget_mb == 300
    assert env.settings.release.canary_steps == [25, 100]


def test_monitoring_notification_channels_must_be_channel_names(tmp_path: Path) -> None:
    path = write(tmp_path, "environments:\n  s:\n    infra:\n      monitoring:\n"
                           "        notification_channels: [oncall@acme.example]\n")
    with pytest.raises(ConfigError, match=r"environments.s.infra.monitoring.notification_channels: Value error, "
                                          r"not a notification channel \(projects/PROJECT/notificationChannels/ID\)"):
        load_config(path, environ={})
