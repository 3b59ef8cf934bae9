"""Config validation: one-line errors naming the key; defaults from the schema."""

from pathlib import Path

import pytest
import yaml

from dlrepro.config import check_config, coerce_config
from dlrepro.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "schemas" / "config.schema.yaml"


def _config():
    return yaml.safe_load((REPO / "config.yaml").read_text())


def test_shipped_config_is_valid():
    check_config(_config(), SCHEMA)


def test_every_tiny_override_is_valid():
    from snakemake.utils import update_config

    config = _config()  # merged key by key, as Snakemake merges a --configfile
    update_config(config, yaml.safe_load((REPO / "profiles/tiny/workflow-config.yaml").read_text()))
    check_config(config, SCHEMA)
    assert config["mnist"]["models"]["mlp"] == {**_config()["mnist"]["models"]["mlp"], "epochs": [20]}


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


# ----------------------------------------------------------------------------- --config coercion
# Snakemake 9 hands `--config seeds=[1,2]` over as ["1", "2"] and
# `--config 'experiments={sentiment: false}'` as {"sentiment": "false"}.


def test_coerce_list_of_integer_strings():
    config = _config()
    config["seeds"] = ["1", "2"]
    coerce_config(config, SCHEMA)
    assert config["seeds"] == [1, 2]
    check_config(config, SCHEMA)


def test_coerce_booleans_in_mapping():
    config = _config()
    config["experiments"] = {"mnist": "true", "sentiment": "false", "indian_pines": "True"}
    coerce_config(config, SCHEMA)
    assert config["experiments"] == {"mnist": True, "sentiment": False, "indian_pines": True}


def test_coerce_whole_list_or_mapping_given_as_string():
    config = _config()
    config["seeds"] = "[4, 5]"
    config["experiments"] = "{sentiment: false}"
    coerce_config(config, SCHEMA)
    assert config["seeds"] == [4, 5]
    assert config["experiments"] == {"sentiment": False}


def test_coerce_numbers_null_and_refs():
    config = _config()
    config["max_epochs"] = "null"
    config["mnist"]["validation_fraction"] = "0.25"
    config["mnist"]["seeds"] = ["7"]  # anyOf [null, $ref seeds]
    config["mnist"]["models"]["mlp"]["epochs"] = ["5"]  # additionalProperties -> $ref
    config["mnist"]["models"]["mlp"]["learning_rate"] = "1e-3"  # YAML 1.1 reads this as a string
    config["indian_pines"]["disjoint_guard"] = "2"
    coerce_config(config, SCHEMA)
    assert config["max_epochs"] is None
    assert config["mnist"]["validation_fraction"] == 0.25
    assert config["mnist"]["seeds"] == [7]
    assert config["mnist"]["models"]["mlp"]["epochs"] == [5]
    assert config["mnist"]["models"]["mlp"]["learning_rate"] == pytest.approx(1e-3)
    assert config["indian_pines"]["disjoint_guard"] == 2
    check_config(config, SCHEMA)


def test_coerce_leaves_strings_where_strings_belong():
    config = _config()
    config["data_mirror"] = "123"  # string or null: stays a string
    config["datasets"]["mnist"]["source"] = "embedded"
    coerce_config(config, SCHEMA)
    assert config["data_mirror"] == "123"
    assert config["datasets"]["mnist"]["source"] == "embedded"


def test_coerce_then_validation_names_first_bad_element():
    config = _config()
    config["seeds"] = ["1", "x", "y"]
    coerce_config(config, SCHEMA)
    assert config["seeds"] == [1, "x", "y"]
    with pytest.raises(ConfigError, match=r"^invalid config key 'seeds.1': 'x' is not of type 'integer'$"):
        check_config(config, SCHEMA)


def test_coerce_does_not_turn_numbers_into_booleans():
    config = _config()
    config["experiments"] = {"mnist": "1"}
    coerce_config(config, SCHEMA)
    assert config["experiments"]["mnist"] == "1"
    with pytest.raises(ConfigError, match=r"'experiments.mnist': '1' is not of type 'boolean'"):
        check_config(config, SCHEMA)


def test_coerce_unknown_keys_untouched_and_reported():
    config = _config()
    config["sedes"] = ["1"]
    coerce_config(config, SCHEMA)
    assert config["sedes"] == ["1"]
    with pytest.raises(ConfigError, match=r"unknown config key 'sedes'"):
        check_config(config, SCHEMA)


def test_command_line_overrides_reach_the_workflow(workflow):
    """`--config` lists and mappings in YAML syntax work end to end (dry run)."""
    from conftest import snakemake

    proc = snakemake(
        workflow,
        "-n",
        "--config",
        "seeds=[1,2]",
        "experiments={sentiment: false, indian_pines: false}",
        "max_epochs=2",
        check=True,
    )
    out = proc.stdout + proc.stderr
    assert "seed=2" in out or "seed2" in out
    assert "seed3" not in out and "seed=3" not in out
    assert "train_sentiment" not in out and "train_indian_pines" not in out
    assert "train_mnist" in out


def test_command_line_override_bad_element_is_named(workflow):
    from conftest import snakemake

    proc = snakemake(workflow, "-n", "--config", "seeds=[1,x]")
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert (
        "Invalid configuration: invalid config key 'seeds.1': 'x' is not of type 'integer' (given with --config)"
        in out
    )


# --------------------------------------------------------------------------- what is expected, and where


def test_any_of_says_what_is_expected():
    config = _config()
    config["mnist"]["seeds"] = "3"  # --config 'mnist={seeds: "3"}'
    coerce_config(config, SCHEMA)
    with pytest.raises(ConfigError) as err:
        check_config(config, SCHEMA)
    assert str(err.value) == (
        "invalid config key 'mnist.seeds': '3' is not accepted here; expected a non-empty list of "
        "distinct integers >= 0 like [1, 2, 3], or null"
    )


def test_several_types_say_what_is_expected():
    config = _config()
    config["max_epochs"] = "x"
    with pytest.raises(ConfigError, match=r"'x' is not accepted here; expected an integer >= 1, or null$"):
        check_config(config, SCHEMA)


def test_even_window_says_odd():
    config = _config()
    config["indian_pines"]["window"] = 4
    with pytest.raises(ConfigError, match=r"'indian_pines.window': 4 is even; expected an odd number$"):
        check_config(config, SCHEMA)


def test_describe_schema_forms():
    from dlrepro.config import describe, load_schema

    root = load_schema(SCHEMA)
    assert (
        describe(root["properties"]["seeds"], root)
        == "a non-empty list of distinct integers >= 0 like [1, 2, 3]"
    )
    assert describe({"type": ["string", "null"], "minLength": 1}) == "a non-empty string, or null"
    assert describe({"enum": ["global", "per_band"]}) == "one of global, per_band"
    assert describe({"type": "number", "exclusiveMinimum": 0}) == "a number > 0"


def test_message_names_the_file_or_command_line_that_set_the_key(tmp_path):
    from dlrepro.config import origin

    config = _config()
    config["mnist"]["sedes"] = [1]
    sources = [("config.yaml", _config()), ("my.yaml", {"mnist": {"sedes": [1]}})]
    with pytest.raises(ConfigError, match=r"^unknown config key 'mnist.sedes' in my.yaml \(allowed here: "):
        check_config(config, SCHEMA, sources)
    config = _config()
    config["seeds"] = [1, "x"]
    sources = [("config.yaml", _config()), ("--config", {"seeds": [1, "x"]})]
    with pytest.raises(ConfigError) as err:
        check_config(config, SCHEMA, sources)
    assert (
        str(err.value) == "invalid config key 'seeds.1': 'x' is not of type 'integer' (given with --config)"
    )
    # the last source that sets the key wins; a key nobody set (a default) names none
    assert origin(["seeds"], [("a.yaml", {"seeds": [1]}), ("b.yaml", {"seeds": [2]})]) == "b.yaml"
    assert origin(["max_epochs"], [("a.yaml", {"seeds": [1]})]) is None


def test_configfile_typo_names_the_file(workflow):
    """A typo in a --configfile: the one line names that file (dry run of the workflow)."""
    from conftest import snakemake

    typo = workflow / "my-config.yaml"
    typo.write_text("mnist:\n  sedes: [1]\n")
    proc = snakemake(workflow, "-n", "--configfile", str(typo))
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "Invalid configuration: unknown config key 'mnist.sedes' in my-config.yaml (allowed here: " in out
    proc = snakemake(workflow, "-n", "--config", 'mnist={seeds: "3"}')
    assert proc.returncode != 0
    assert (
        "Invalid configuration: invalid config key 'mnist.seeds': '3' is not accepted here; expected a "
        "non-empty list of distinct integers >= 0 like [1, 2, 3], or null (given with --config)"
    ) in proc.stdout + proc.stderr
