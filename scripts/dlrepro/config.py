"""Config validation with one-line errors naming the offending key, and coercion of the
strings that ``snakemake --config`` produces into the types the schema expects.

Snakemake 9 parses ``--config KEY=VALUE`` as follows: a top-level value becomes an int, a float,
``True``/``False`` (capitalised only) or, failing those, YAML parsed with the *base* loader, so that
``seeds=[1,2]`` arrives as ``["1", "2"]`` and ``experiments={sentiment: false}`` as
``{"sentiment": "false"}`` (merged recursively into the config file's ``experiments``). Dotted keys
(``experiments.sentiment=false``) are rejected by Snakemake itself before the workflow is read.
:func:`coerce_config` walks the schema and turns such strings back into numbers, booleans, nulls,
lists and mappings wherever the schema does not accept a string there.
"""

from __future__ import annotations

from pathlib import Path

from .errors import ConfigError


def _key(path) -> str:
    return ".".join(str(p) for p in path) or "<top level>"


def load_schema(schema_path: str | Path) -> dict:
    import yaml

    with open(schema_path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


# ----------------------------------------------------------------------------- coercion

_PYTHON_TYPES = {
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "string": lambda v: isinstance(v, str),
}


def _resolve(schema, root: dict):
    """Follow local ``$ref`` pointers (``#/a/b``)."""
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema:
        ref = schema["$ref"]
        if not ref.startswith("#/") or seen > 50:
            return {}
        target = root
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        rest = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**target, **rest}
        seen += 1
    return schema if isinstance(schema, dict) else {}


def _alternatives(schema, root: dict) -> list[dict]:
    """The schema and every ``anyOf``/``oneOf``/``allOf`` branch, flattened, refs resolved."""
    schema = _resolve(schema, root)
    out = [schema]
    for keyword in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(keyword) or []:
            out.extend(_alternatives(branch, root))
    return out


def _types(alternatives: list[dict]) -> set[str]:
    types: set[str] = set()
    for alt in alternatives:
        declared = alt.get("type")
        if isinstance(declared, str):
            types.add(declared)
        elif isinstance(declared, list):
            types.update(declared)
        elif "properties" in alt or "additionalProperties" in alt:
            types.add("object")
        elif "items" in alt:
            types.add("array")
    return types


def _parse_string(value: str, types: set[str]):
    """YAML-parse ``value``; the result if it has one of ``types``, else ``value`` unchanged."""
    import yaml

    try:
        parsed = yaml.safe_load(value)
    except yaml.YAMLError:
        parsed = value
    if isinstance(parsed, str) and "number" in types:
        try:  # YAML 1.1 reads 1e-3 as a string
            parsed = float(parsed)
        except ValueError:
            pass
    if any(_PYTHON_TYPES[t](parsed) for t in types if t in _PYTHON_TYPES):
        return parsed
    return value


def _child_schema(alternatives: list[dict], key: str) -> list[dict]:
    import re

    children = []
    for alt in alternatives:
        properties = alt.get("properties") or {}
        if key in properties:
            children.append(properties[key])
            continue
        matched = False
        for pattern, sub in (alt.get("patternProperties") or {}).items():
            if re.search(pattern, key):
                children.append(sub)
                matched = True
        additional = alt.get("additionalProperties")
        if not matched and isinstance(additional, dict):
            children.append(additional)
    return children


def _coerce(value, schemas: list, root: dict):
    alternatives = [alt for schema in schemas for alt in _alternatives(schema, root)]
    types = _types(alternatives)
    if not types:
        return value
    if isinstance(value, str) and "string" not in types:
        value = _parse_string(value, types)
    if isinstance(value, list) and "array" in types:
        items = [alt["items"] for alt in alternatives if isinstance(alt.get("items"), dict)]
        if items:
            value[:] = [_coerce(item, items, root) for item in value]
    elif isinstance(value, dict) and "object" in types:
        for key in list(value):
            children = _child_schema(alternatives, str(key))
            if children:
                value[key] = _coerce(value[key], children, root)
    return value


def coerce_config(config: dict, schema: dict | str | Path) -> dict:
    """Coerce, in place, strings where the schema expects numbers, booleans, null, arrays or
    objects (YAML syntax: ``"3"``, ``"false"``, ``"null"``, ``"[1, 2]"``, ``"{a: 1}"``).

    A string is left alone wherever the schema accepts a string, and one that does not parse
    to an accepted type is left for :func:`check_config` to report by its key (``seeds.0``).
    Returns ``config``.
    """
    if not isinstance(schema, dict):
        schema = load_schema(schema)
    _coerce(config, [schema], schema)
    return config


# ----------------------------------------------------------------------------- validation


def _path_key(error):
    return [(0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in error.absolute_path]


def _first_sibling(best, errors):
    """jsonschema's best_match prefers the *last* of equally relevant sibling errors
    (``seeds.2`` for ``[1, "x", "y"]``, ``seeds.1`` for ``["x", -1]``): name the first bad
    element instead, whatever the check it fails."""
    if not best.absolute_path or best not in errors:
        return best
    parent = list(best.absolute_path)[:-1]
    siblings = [
        e
        for e in errors
        if len(e.absolute_path) == len(best.absolute_path) and list(e.absolute_path)[:-1] == parent
    ]
    if not siblings:
        return best
    first = min(siblings, key=_path_key)
    same = [e for e in siblings if list(e.absolute_path) == list(first.absolute_path)]
    return best if best in same else same[0]


def _duplicate(error) -> str | None:
    """The message for a ``uniqueItems`` violation: the first repeated element and its twin."""
    items = error.instance if isinstance(error.instance, list) else []
    for j, item in enumerate(items):
        for i in range(j):
            if items[i] == item and type(items[i]) is type(item):
                key = _key([*error.absolute_path, j])
                return (
                    f"invalid config key {key!r}: {item!r} repeats {_key([*error.absolute_path, i])!r}; "
                    "each must be unique (a repeat would count the same run twice)"
                )
    return None


def check_config(config: dict, schema_path: str | Path, sources=None) -> None:
    """Raise :class:`ConfigError` with one line for the most relevant schema violation.

    ``sources``: where the config came from, lowest precedence first, as ``(name, mapping)``
    pairs (:func:`config_sources`: the config files, then ``--config``); the line names the
    last one that sets the offending key (``in my-config.yaml``, ``given with --config``).
    """
    import jsonschema

    schema = load_schema(schema_path)
    validator = jsonschema.Draft202012Validator(schema)
    errors = list(validator.iter_errors(config))
    if not errors:
        return
    error = _first_sibling(jsonschema.exceptions.best_match(errors), errors)
    path = list(error.absolute_path)
    # an unknown key is reported by its own name, with the allowed ones
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted((error.schema.get("properties") or {}).keys())
        unknown = sorted(set(error.instance) - set(allowed))
        if unknown and allowed:
            path = [*path, unknown[0]]
            where = origin(path, sources)
            where = ("given with --config" if where == "--config" else f"in {where}") if where else ""
            raise ConfigError(
                f"unknown config key {_key(path)!r}{' ' + where if where else ''} "
                f"(allowed here: {', '.join(allowed)})"
            )
    suffix = _origin_suffix(path, sources)
    if error.validator == "uniqueItems" and _duplicate(error):
        raise ConfigError(_duplicate(error) + suffix)
    if error.validator == "propertyNames":
        raise ConfigError(f"config key {_key(path)!r}: {error.message}{suffix}")
    if error.validator in ("anyOf", "oneOf") or (
        error.validator == "type" and isinstance(error.validator_value, list)
    ):
        # jsonschema says "... is not valid under any of the given schemas": say what is
        message = f"{error.instance!r} is not accepted here; expected {describe(error.schema, schema)}"
    elif error.validator == "not" and error.validator_value == {"multipleOf": 2}:
        message = f"{error.instance!r} is even; expected an odd number"
    else:
        message = error.message.splitlines()[0]
    if len(message) > 200:
        message = message[:200] + "..."
    raise ConfigError(f"invalid config key {_key(path)!r}: {message}{suffix}")


# ----------------------------------------------------------------------------- what is expected


def _number(value) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _bounds(schema: dict) -> str:
    parts = []
    for keyword, sign in (
        ("minimum", ">="),
        ("exclusiveMinimum", ">"),
        ("maximum", "<="),
        ("exclusiveMaximum", "<"),
    ):
        if isinstance(schema.get(keyword), (int, float)) and not isinstance(schema.get(keyword), bool):
            parts.append(f"{sign} {_number(schema[keyword])}")
    return " and ".join(parts)


_PLURAL = {"integer": "integers", "number": "numbers", "string": "strings", "boolean": "booleans"}


def _describe_type(kind: str, schema: dict, root: dict) -> str:
    if kind == "null":
        return "null"
    if kind == "boolean":
        return "true or false"
    if kind in ("integer", "number"):
        bounds = _bounds(schema)
        return f"{'an integer' if kind == 'integer' else 'a number'}{' ' + bounds if bounds else ''}"
    if kind == "string":
        return "a non-empty string" if schema.get("minLength", 0) >= 1 else "a string"
    if kind == "array":
        items = _resolve(schema.get("items") or {}, root)
        item_type = items.get("type") if isinstance(items.get("type"), str) else None
        adjectives = ["distinct"] if schema.get("uniqueItems") else []
        if item_type in _PLURAL and "enum" not in items:
            bounds = _bounds(items)
            what = f"{' '.join(adjectives + [_PLURAL[item_type]])}{' ' + bounds if bounds else ''}"
        elif items:
            what = f"{' '.join(adjectives + ['items'])}, each {describe(items, root)}"
        else:
            what = " ".join(adjectives + ["items"])
        text = f"{'a non-empty' if schema.get('minItems') == 1 else 'a'} list of {what}"
        if item_type == "integer" and "enum" not in items:
            start = max(1, int(items.get("minimum", 1)))
            text += f" like [{start}, {start + 1}, {start + 2}]"
        return text
    if kind == "object":
        keys = sorted((schema.get("properties") or {}).keys())
        return f"a mapping (keys: {', '.join(keys)})" if keys else "a mapping"
    return kind


def describe(schema, root: dict | None = None) -> str:
    """What a (sub)schema accepts, in words: ``a list of distinct integers >= 0 like [1, 2, 3],
    or null`` (``anyOf``/``oneOf`` branches joined by "or"; local ``$ref`` resolved)."""
    root = root if root is not None else (schema if isinstance(schema, dict) else {})
    schema = _resolve(schema, root)
    branches = (schema.get("anyOf") or []) + (schema.get("oneOf") or [])
    if branches:
        texts = list(dict.fromkeys(describe(branch, root) for branch in branches))
        # null last: "a list ..., or null"
        texts.sort(key=lambda t: t == "null")
        return ", or ".join(texts)
    if "enum" in schema:
        return "one of " + ", ".join(_yaml_scalar(v) for v in schema["enum"])
    if "const" in schema:
        return _yaml_scalar(schema["const"])
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
    if not kinds:
        if "properties" in schema or "additionalProperties" in schema:
            kinds = ["object"]
        elif "items" in schema:
            kinds = ["array"]
        else:
            return "a value of another form"
    texts = [_describe_type(kind, schema, root) for kind in kinds]
    texts.sort(key=lambda t: t == "null")
    return ", or ".join(texts)


def _yaml_scalar(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ----------------------------------------------------------------------------- where a key was set


def _has_path(mapping, path) -> bool:
    from collections.abc import Mapping

    node = mapping
    for part in path:
        if isinstance(part, int):
            return isinstance(node, list)  # a list is replaced whole: its owner set the element
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def origin(path, sources) -> str | None:
    """The name of the last source (highest precedence) that sets the key ``path``."""
    found = None
    for name, mapping in sources or []:
        if path and _has_path(mapping, path):
            found = name
    return found


def _origin_suffix(path, sources) -> str:
    where = origin(path, sources)
    if where is None:
        return ""
    return " (given with --config)" if where == "--config" else f" (in {where})"


def config_sources(workflow) -> list[tuple[str, dict]]:
    """Where a Snakemake run's config came from, lowest precedence first: the Snakefile's
    ``configfile``, each ``--configfile`` (a profile's too), then ``--config`` (named so).
    Files are named as given, or relative to the working directory when inside it."""
    import os

    import yaml

    def name(path) -> str:
        path = Path(path)
        if path.is_absolute():
            try:
                return os.path.relpath(path) if not os.path.relpath(path).startswith("..") else str(path)
            except ValueError:
                return str(path)
        return str(path)

    def load(path) -> dict:
        try:
            with open(path, encoding="utf-8") as fh:
                return yaml.safe_load(fh) or {}
        except (OSError, yaml.YAMLError):
            return {}

    try:
        settings = workflow.config_settings
        cli = [Path(p).absolute() for p in settings.configfiles or []]
        files = [Path(p) for p in workflow.configfiles]
        command_line = dict(settings.config or {})
    except Exception:  # another Snakemake: the message just names no file
        return []
    sources = [(name(p), load(p)) for p in files if p.absolute() not in cli]
    sources += [(name(p), load(p)) for p in cli]
    if command_line:
        sources.append(("--config", command_line))
    return sources


# ----------------------------------------------------------------------------- own data


def check_user_paths(config: dict, base: str | Path = ".") -> None:
    """``datasets.<d>.source: user`` needs ``datasets.<d>.path`` naming an existing file or
    directory (relative paths: to ``base``, the working directory); a ``path`` is only used
    with that source.  Raises :class:`ConfigError` with one line."""
    for name, section in (config.get("datasets") or {}).items():
        if not isinstance(section, dict):
            continue
        source, path = section.get("source"), section.get("path")
        key = f"config key datasets.{name}.path"
        if source == "user":
            if not path:
                raise ConfigError(
                    f"{key}: not set; datasets.{name}.source: user needs the path of your files "
                    "(docs/data.md: Using your own data)"
                )
            if not (Path(base) / path).exists():
                raise ConfigError(f"{key}: {path} does not exist (datasets.{name}.source: user)")
        elif path:
            raise ConfigError(
                f"{key}: {path} is only used with datasets.{name}.source: user (source is {source})"
            )
