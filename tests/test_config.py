"""Config validation: one-line errors naming the key; defaults from the schema."""

from pathlib import Path

import pytest
import yaml

from dlrepro.config import check_config
from dlrepro.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "schemas" / "config.schema.yaml"


def _config():
    return yaml.safe_load((REPO / "config.yaml").read_text())


def test_shipped_config_is_valid():
    check_config(_config(), SCHEMA)


def test_every_tiny_override_is_valid():
    config = _config()
    config.update(yaml.safe_load((REPO / "profiles/tiny/workflow-config.yaml").read_text()))
    check_config(config, SCHEMA)


def test_unknown_top_level_key():
    config = _config()
    config["sedes"] = [1]
    with pytest.raises(ConfigError, match=r"^unknown config key 'sedes' \(allowed here: .*seeds") as err:
        check_config(config, SCHEMA)
    assert "\n" not in str(err.value)


def test_unknown_nested_key():
    config = _config()
    config["mnist"]["models"]["mlp"]["epoch"] = [3]
    with pytest.raises(ConfigError, match=r"unknown config key 'mnist.models.mlp.epoch'"):
        check_config(config, SCHEMA)


def test_wrong_type_names_key():
    config = _config()
    config["seeds"] = ["one"]
    with pytest.raises(ConfigError, match=r"invalid config key 'seeds.0': 'one' is not of type 'integer'"):
        check_config(config, SCHEMA)


def test_bad_source_names_key():
    config = _config()
    config["datasets"]["mnist"]["source"] = "ftp"
    with pytest.raises(ConfigError, match=r"datasets.mnist.source"):
        check_config(config, SCHEMA)


def test_every_config_key_is_commented():
    """Each key line in config.yaml has a comment line right above it (or is a list item)."""
    lines = (REPO / "config.yaml").read_text().splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or stripped.startswith("- "):
            continue
        above = lines[i - 1].strip() if i else ""
        assert above.startswith("#"), f"config.yaml line {i + 1} ({stripped!r}) has no comment above it"
