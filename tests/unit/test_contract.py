"""The settings contract between cocus.yaml and the service (service/settings-schema.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cocusctl.core.config import LoadedConfig, load_config
from cocusctl.core.contract import check_contract, load_schema, require_contract
from cocusctl.core.errors import ConfigError
from cocusctl.core.release.deploy import deploy
from cocusctl.core.release.promote import promote_environments
from cocusctl.core.reporting import RecordingReporter

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"COCUS_API_KEYS": {"secret": "keys", "version": "1"}}


def config(tmp_path: Path, revision: dict, **service: object) -> LoadedConfig:
    return load_config(None, environ={}, cwd=tmp_path,
                       flags={"environments.local.revision": revision,
                              **{f"service.{k}": v for k, v in service.items()}})


def problems(tmp_path: Path, revision: dict, **service: object) -> list[str]:
    loaded = config(tmp_path, revision, **service)
    return [str(p) for p in check_contract(loaded, [loaded.environment("local")]).problems]


def test_the_bundled_contract_is_the_services_published_schema(tmp_path: Path) -> None:
    schema = load_schema(load_config(None, environ={}, cwd=tmp_path))  # the default: settings_contract cocus-rag
    published = json.loads((ROOT / "service" / "settings-schema.json").read_text())
    assert schema is not None and schema.service == published["service"] == "cocus-rag"
    assert [s.name for s in schema.settings] == [entry["name"] for entry in published["settings"]]


def test_a_revision_that_keeps_the_contract_has_no_problems(tmp_path: Path) -> None:
    revision = {"env": {"COCUS_LOG_LEVEL": "DEBUG", "COCUS_DEFAULT_TOP_K": "5", "COCUS_CACHE_ENABLED": "off",
                        "COCUS_GRACEFUL_TIMEOUT": "2.5", "COCUS_GCP_PROJECT": "p"},
                "secrets": {**KEYS, "REDIS_URL": {"secret": "redis", "version": "2"}}}
    assert problems(tmp_path, revision) == []


@pytest.mark.parametrize(
    ("revision", "expected"),
    [
        ({"env": {"LOG_LEVEL": "debug"}, "secrets": KEYS},
         "environment 'local': revision.env.LOG_LEVEL: the service does not read LOG_LEVEL "
         "(did you mean COCUS_LOG_LEVEL?)"),
        ({"env": {"RAG_TOP_K": "5"}, "secrets": KEYS},
         "environment 'local': revision.env.RAG_TOP_K: the service does not read RAG_TOP_K"),
        ({"secrets": {**KEYS, "OPENAI_API_KEY": {"secret": "o", "version": "1"}}},
         "environment 'local': revision.secrets.OPENAI_API_KEY: the service does not read OPENAI_API_KEY "
         "(did you mean COCUS_OPENAI_API_KEY?)"),
        ({"env": {"PORT": "9000"}, "secrets": KEYS},
         "environment 'local': revision.env.PORT: PORT is set by the platform, not by a deployment; remove it"),
        ({"env": {"COCUS_VERSION": "9"}, "secrets": KEYS},
         "environment 'local': revision.env.COCUS_VERSION: COCUS_VERSION is set by the image, not by a "
         "deployment; remove it"),
        ({"env": {"REDIS_URL": "redis://:pw@host"}, "secrets": KEYS},
         "environment 'local': revision.env.REDIS_URL: REDIS_URL is a secret: deliver it from Secret Manager "
         "(revision.secrets), never as a plain value"),
        ({"env": {"COCUS_LOG_LEVEL": "debug"}, "secrets": KEYS},
         "environment 'local': revision.env.COCUS_LOG_LEVEL: 'debug' is not one of DEBUG, INFO, WARNING, ERROR"),
        ({"env": {"COCUS_DEFAULT_TOP_K": "five"}, "secrets": KEYS},
         "environment 'local': revision.env.COCUS_DEFAULT_TOP_K: 'five' is not a valid integer"),
        ({"env": {"COCUS_AUTH_DISABLED": "maybe"}, "secrets": KEYS},
         "environment 'local': revision.env.COCUS_AUTH_DISABLED: 'maybe' is not a valid boolean"),
        ({},
         "environment 'local': revision.secrets: COCUS_API_KEYS is required (the service refuses to start "
         "without it) unless COCUS_AUTH_DISABLED=true"),
        ({"env": {"COCUS_AUTH_DISABLED": "false"}},
         "environment 'local': revision.secrets: COCUS_API_KEYS is required (the service refuses to start "
         "without it) unless COCUS_AUTH_DISABLED=true"),
    ],
)
def test_each_disagreement_names_environment_and_field(tmp_path: Path, revision: dict, expected: str) -> None:
    assert problems(tmp_path, revision) == [expected]


def test_api_keys_may_be_left_out_of_a_deliberately_open_service(tmp_path: Path) -> None:
    assert problems(tmp_path, {"env": {"COCUS_AUTH_DISABLED": "TRUE"}}) == []


def test_a_service_without_a_contract_is_not_checked(tmp_path: Path) -> None:
    assert problems(tmp_path, {"env": {"ANYTHING": "x"}}, settings_contract="none") == []


def test_a_contract_file_of_the_project(tmp_path: Path) -> None:
    (tmp_path / "schema.json").write_text(
        '{"service": "tiny", "schema_version": 1, "settings": [{"name": "GREETING", "type": "string", '
        '"required": true}]}')
    assert problems(tmp_path, {"env": {"GREETING": "hi"}}, settings_contract="schema.json") == []
    assert problems(tmp_path, {}, settings_contract="schema.json") == [
        "environment 'local': revision.env: GREETING is required (the service refuses to start without it)"]
    with pytest.raises(ConfigError, match=r"service.settings_contract: .*missing.json does not exist"):
        problems(tmp_path, {}, settings_contract="missing.json")


def test_unknown_contract_name_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="settings_contract: Value error, expected one of cocus-rag, none"):
        config(tmp_path, {}, settings_contract="cocus-api")


def test_require_contract_is_one_line_with_the_count_and_the_check_command(tmp_path: Path) -> None:
    loaded = config(tmp_path, {"env": {"LOG_LEVEL": "x", "RAG_TOP_K": "5"}})
    with pytest.raises(ConfigError) as info:
        require_contract(loaded, loaded.environment("local"))
    assert info.value.exit_code == 2 and "\n" not in info.value.message
    assert info.value.message.endswith("(+2 more)")  # two unknown names and the missing API keys
    assert info.value.hint is not None and "cocusctl config check --env local" in info.value.hint


def test_deploy_and_promote_refuse_an_environment_that_breaks_the_contract(tmp_path: Path) -> None:
    loaded = config(tmp_path, {"env": {"LOG_LEVEL": "x"}, "secrets": KEYS})
    env = loaded.environment("local")
    image = "127.0.0.1:5000/cocus/cocus-rag@sha256:" + "a" * 64
    with pytest.raises(ConfigError, match="revision.env.LOG_LEVEL"):
        deploy(loaded, env, lambda e: pytest.fail("target reached"), RecordingReporter(), lambda q: True,
               lambda *a, **k: pytest.fail("terraform reached"), image=image)
    staging = loaded.environment("local").__class__(**{**env.__dict__, "name": "other"})
    with pytest.raises(ConfigError, match="revision.env.LOG_LEVEL"):
        promote_environments(loaded, staging, env, lambda e: pytest.fail("target reached"), None,  # type: ignore[arg-type]
                             RecordingReporter(), lambda q: True, lambda *a, **k: pytest.fail("terraform reached"))
