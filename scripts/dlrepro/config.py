"""Config validation with one-line errors naming the offending key."""

from __future__ import annotations

from pathlib import Path

from .errors import ConfigError


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def check_config(config: dict, schema_path: str | Path) -> None:
    """Raise :class:`ConfigError` with one line for the most relevant schema violation."""
    import jsonschema
    import yaml

    with open(schema_path, encoding="utf-8") as fh:
        schema = yaml.safe_load(fh)
    validator = jsonschema.Draft202012Validator(schema)
    errors = list(validator.iter_errors(config))
    if not errors:
        return
    error = jsonschema.exceptions.best_match(errors)
    # an unknown key is reported by its own name, with the allowed ones
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted((error.schema.get("properties") or {}).keys())
        unknown = sorted(set(error.instance) - set(allowed))
        if unknown and allowed:
            key = _key([*error.absolute_path, unknown[0]])
            raise ConfigError(f"unknown config key {key!r} (allowed here: {', '.join(allowed)})")
    if error.validator == "propertyNames":
        raise ConfigError(f"config key {_key(error.absolute_path)!r}: {error.message}")
    message = error.message.splitlines()[0]
    if len(message) > 200:
        message = message[:200] + "..."
    raise ConfigError(f"invalid config key {_key(error.absolute_path)!r}: {message}")
