"""The workflow's rule graph (rule report_rulegraph): ``snakemake --rulegraph`` with the job's
config (:func:`rulegraph_dot`, renumbered by :func:`canonical_dot` so that it is byte-stable),
rendered by graphviz ``dot`` when available, else by a matplotlib layered layout
(:func:`sugiyama`)."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from dataclasses import dataclass

from ..errors import ConfigError, DlReproError
from ..io import write_text
from .plots import pyplot, save_figure


class RulegraphError(DlReproError):
    """``snakemake --rulegraph`` could not be run."""


_NODE = re.compile(r"^\s*(\w+)\s*\[(.*)\]\s*;?\s*$")
_EDGE = re.compile(r"^\s*(\w+)\s*->\s*(\w+)")
_ATTR = re.compile(r'(\w+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s\]]+)')


def parse_dot(text: str) -> tuple[dict[str, dict], list[tuple[str, str]]]:
    """Nodes (id -> attributes, ``label`` at least) and edges of a ``snakemake --rulegraph``."""
    nodes: dict[str, dict] = {}
    edges: list[tuple[str, str]] = []
    for line in text.splitlines():
        edge = _EDGE.match(line)
        if edge:
            edges.append((edge.group(1), edge.group(2)))
            continue
        node = _NODE.match(line)
        if node and node.group(1) not in ("graph", "node", "edge"):
            attrs = {}
            for key, value in _ATTR.findall(node.group(2)):
                if value.startswith('"'):
                    value = value[1:-1].replace('\\"', '"')
                attrs[key] = value
            attrs.setdefault("label", node.group(1))
            nodes[node.group(1)] = attrs
    for a, b in edges:
        for n in (a, b):
            nodes.setdefault(n, {"label": n})
    if not nodes:
        raise ValueError("no nodes in the DOT text")
    return nodes, edges


def canonical_dot(text: str) -> str:
    """``snakemake --rulegraph`` output with deterministic node numbers: Snakemake numbers
    the rules in an order that changes between runs, so the same graph came out as different
    bytes (and a different SVG).  Nodes are renumbered by label (rule names are unique) and
    written in that order, edges sorted; the header lines are kept as they are."""
    nodes, edges = parse_dot(text)
    order = sorted(nodes, key=lambda n: (nodes[n].get("label", n), n))
    new = {old: str(i) for i, old in enumerate(order)}
    node_lines = {}
    header, tail = [], []
    for line in text.strip().splitlines():
        node, edge = _NODE.match(line), _EDGE.match(line)
        if edge:
            continue
        if node and node.group(1) in nodes:
            node_lines[node.group(1)] = f"\t{new[node.group(1)]}[{node.group(2)}];"
        elif line.strip() == "}":
            tail.append(line)
        else:
            header.append(line)
    body = [node_lines.get(n, f'\t{new[n]}[label = "{nodes[n]["label"]}"];') for n in order]
    body += [f"\t{a} -> {b}" for a, b in sorted({(int(new[a]), int(new[b])) for a, b in edges})]
    return "\n".join(header + body + (tail or ["}"])) + "\n"


@dataclass
class Layout:
    """A layered drawing: layer and x (inches) of every node, the bends of every edge."""

    layer: dict[str, int]
    x: dict[str, float]
    routes: dict[tuple[str, str], list[str]]  # edge -> the dummy nodes it passes through
    dummies: set[str]


def sugiyama(nodes, edges, widths=None, dummy_width: float = 0.25, gap: float = 0.25, sweeps: int = 12):
    """A simple Sugiyama-style layered layout.

    Layer = longest path from a source (an edge goes from a layer to a later one); an edge
    spanning several layers passes through dummy nodes, one per skipped layer; the order
    within each layer comes from repeated barycentre sweeps; x from the neighbours' mean x,
    kept apart by the node widths (``widths``: node -> width, default 1).
    """
    widths = dict(widths or {})
    preds = {n: [] for n in nodes}
    for a, b in sorted(set(edges)):
        if a != b:
            preds[b].append(a)
    layer: dict[str, int] = {}
    visiting: set[str] = set()

    def depth(n):
        if n in layer:
            return layer[n]
        if n in visiting:  # a cycle (not in a DAG): break it
            return 0
        visiting.add(n)
        layer[n] = max((depth(p) + 1 for p in preds[n]), default=0)
        visiting.discard(n)
        return layer[n]

    for n in nodes:
        depth(n)
    up: dict[str, list[str]] = {n: [] for n in nodes}
    down: dict[str, list[str]] = {n: [] for n in nodes}
    routes: dict[tuple[str, str], list[str]] = {}
    dummies: set[str] = set()
    for a, b in sorted(set(edges)):
        if a == b or layer[a] >= layer[b]:
            continue
        chain = []
        prev = a
        for k in range(layer[a] + 1, layer[b]):
            d = f"__dummy_{a}_{b}_{k}"
            layer[d] = k
            up[d], down[d] = [], []
            dummies.add(d)
            widths[d] = dummy_width
            chain.append(d)
            down[prev].append(d)
            up[d].append(prev)
            prev = d
        down[prev].append(b)
        up[b].append(prev)
        routes[(a, b)] = chain
    layers: dict[int, list[str]] = {}
    for n in sorted(layer, key=lambda n: (layer[n], n in dummies, nodes.get(n, {}).get("label", n))):
        layers.setdefault(layer[n], []).append(n)
    order = {n: float(i) for members in layers.values() for i, n in enumerate(members)}

    def reorder(neighbours, keys):
        for k in keys:
            members = layers[k]
            bary = {}
            for n in members:
                ns = neighbours[n]
                bary[n] = sum(order[m] for m in ns) / len(ns) if ns else order[n]
            members.sort(key=lambda n: (bary[n], order[n]))
            for i, n in enumerate(members):
                order[n] = float(i)

    keys = sorted(layers)
    for _ in range(sweeps):
        reorder(up, keys[1:])
        reorder(down, keys[-2::-1])

    def width(n):
        return widths.get(n, 1.0)

    x: dict[str, float] = {}
    for members in layers.values():  # start: packed from 0
        pos = 0.0
        for n in members:
            x[n] = pos + width(n) / 2
            pos += width(n) + gap

    def place(members, neighbours):
        desired = []
        for n in members:
            ns = neighbours[n]
            desired.append(sum(x[m] for m in ns) / len(ns) if ns else x[n])
        xs = list(desired)
        for i in range(1, len(xs)):
            low = xs[i - 1] + (width(members[i - 1]) + width(members[i])) / 2 + gap
            xs[i] = max(xs[i], low)
        shift = sum(d - v for d, v in zip(desired, xs, strict=True)) / len(xs)
        for n, v in zip(members, xs, strict=True):
            x[n] = v + shift

    for _ in range(4):
        for k in keys[1:]:
            place(layers[k], up)
        for k in keys[-2::-1]:
            place(layers[k], down)
    left = min(x[n] - width(n) / 2 for n in x)
    for n in x:
        x[n] -= left
    return Layout({n: layer[n] for n in layer}, x, routes, dummies)


def layered_layout(nodes, edges, sweeps: int = 12) -> dict[str, tuple[int, float]]:
    """node -> (layer, x) of :func:`sugiyama` for the real nodes."""
    lay = sugiyama(nodes, edges, sweeps=sweeps)
    return {n: (lay.layer[n], lay.x[n]) for n in nodes}


def _node_colour(attrs: dict):
    import matplotlib.colors as mcolors

    colour = attrs.get("color", "")
    parts = colour.split()
    if len(parts) == 3:
        try:
            return mcolors.hsv_to_rgb([float(p) for p in parts])
        except ValueError:
            pass
    try:
        return mcolors.to_rgb(colour)
    except ValueError:
        return (0.4, 0.4, 0.4)


def render_rulegraph_matplotlib(dot_text: str, path, note: str = "", fmt: str = "svg") -> None:
    """Draw the rule graph with matplotlib (no graphviz needed): layered top to bottom,
    inputs above the rules that use them, edges routed around the boxes."""
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    from matplotlib.path import Path as MplPath

    plt = pyplot()
    nodes, edges = parse_dot(dot_text)
    fontsize = 8
    char_w = 0.6 * fontsize / 72  # inches per character, sans-serif
    longest = max(len(a.get("label", n)) for n, a in nodes.items())
    box_w, box_h, layer_h = max(1.0, char_w * longest + 0.3), 0.4, 0.85
    lay = sugiyama(nodes, edges, widths={n: box_w for n in nodes}, dummy_width=0.2, gap=0.2)
    n_layers = max(lay.layer.values()) + 1
    width = max(lay.x.values()) + box_w / 2
    margin = 0.2
    fig_w, fig_h = width + 2 * margin, n_layers * layer_h + 2 * margin + 0.2
    fig = plt.figure(figsize=(fig_w, fig_h))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(-margin, width + margin)
    ax.set_ylim(-(n_layers - 1) * layer_h - box_h / 2 - margin - 0.2, box_h / 2 + margin)

    def at(n):
        return lay.x[n], -lay.layer[n] * layer_h

    for (a, b), chain in sorted(lay.routes.items()):
        (x0, y0), (x1, y1) = at(a), at(b)
        points = [(x0, y0 - box_h / 2)]
        for d in chain:
            xd, yd = at(d)
            points += [(xd, yd + box_h / 2), (xd, yd - box_h / 2)]
        points.append((x1, y1 + box_h / 2))
        if len(points) > 2:
            codes = [MplPath.MOVETO] + [MplPath.LINETO] * (len(points) - 2)
            ax.add_patch(
                FancyArrowPatch(
                    path=MplPath(points[:-1], codes), arrowstyle="-", color="grey", lw=1.0, zorder=1
                )
            )
        ax.add_patch(
            FancyArrowPatch(
                points[-2],
                points[-1],
                arrowstyle="-|>",
                mutation_scale=9,
                color="grey",
                lw=1.0,
                shrinkA=0,
                shrinkB=0,
                zorder=1,
            )
        )
    for n, attrs in nodes.items():
        x, y = at(n)
        ax.add_patch(
            FancyBboxPatch(
                (x - box_w / 2, y - box_h / 2),
                box_w,
                box_h,
                boxstyle="round,pad=0,rounding_size=0.08",
                facecolor="white",
                edgecolor=_node_colour(attrs),
                lw=2,
                zorder=2,
            )
        )
        ax.text(x, y, attrs.get("label", n), ha="center", va="center", fontsize=fontsize, zorder=3)
    ax.set_axis_off()
    if note:
        ax.text(
            -margin + 0.05, ax.get_ylim()[0] + 0.05, note, fontsize=6, color="grey", ha="left", va="bottom"
        )
    save_figure(fig, path, fmt, metadata={"Description": note or "rule graph"} if fmt == "svg" else None)


def dot_version(dot: str) -> str:
    proc = subprocess.run([dot, "-V"], capture_output=True, text=True, timeout=30)
    return (proc.stderr or proc.stdout).strip()


def render_rulegraph(dot_text: str, path, renderer: str = "auto") -> dict:
    """Render ``dot_text`` as SVG at ``path``; returns what was used (``renderer``, ``version``).

    ``renderer``: ``auto`` (graphviz ``dot`` when on PATH, else matplotlib), ``dot`` or ``matplotlib``.
    """
    import matplotlib

    if renderer not in ("auto", "dot", "matplotlib"):
        raise ConfigError(f"reporting.rulegraph_renderer: {renderer!r}, expected auto, dot or matplotlib")
    dot = shutil.which("dot")
    if renderer == "dot" and dot is None:
        raise ConfigError(
            "reporting.rulegraph_renderer is 'dot' but graphviz's dot is not on PATH "
            "(apt-get install graphviz, or use auto / matplotlib)"
        )
    if renderer in ("auto", "dot") and dot is not None:
        proc = subprocess.run([dot, "-Tsvg"], input=dot_text, capture_output=True, text=True, timeout=120)
        if proc.returncode == 0 and "<svg" in proc.stdout:
            version = dot_version(dot)
            svg = proc.stdout.replace("<svg", f"<!-- rendered by {version} -->\n<svg", 1)
            write_text(svg, path)
            return {"renderer": "dot", "version": version, "path": dot}
        if renderer == "dot":
            raise ConfigError(f"graphviz dot failed on the rule graph: {proc.stderr.strip()[:300]}")
    version = f"matplotlib {matplotlib.__version__}"
    reason = "graphviz dot not on PATH" if dot is None else "graphviz dot failed"
    if renderer == "matplotlib":
        reason = "reporting.rulegraph_renderer: matplotlib"
    render_rulegraph_matplotlib(dot_text, path, note=f"rendered with {version} ({reason}; layered layout)")
    return {"renderer": "matplotlib", "version": version, "reason": reason}


RULEGRAPH_RACE_RETRIES = 3


def rulegraph_dot(snakefile, config: dict, logger=None, cwd=None, timeout: float = 600) -> str:
    """The DOT text of ``snakemake --rulegraph`` for ``snakefile`` with ``config`` (dumped to a
    temporary YAML file). Runs with ``--nolock``, so it works inside a job of a running
    Snakemake that holds the working directory's lock."""
    import sys
    import tempfile
    from pathlib import Path

    import yaml

    with tempfile.TemporaryDirectory(prefix="dlrepro-rulegraph-") as tmp:
        configfile = Path(tmp) / "config.yaml"
        configfile.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        args = ["--rulegraph", "--nolock", "--workflow-profile", "none", "-s", str(snakefile)]
        args += ["--configfile", str(configfile)]
        commands = [[sys.executable, "-m", "snakemake", *args]]
        installed = shutil.which("snakemake")
        if installed:
            commands.append([installed, *args])
        failures = []
        for command in commands:
            for attempt in range(1 + RULEGRAPH_RACE_RETRIES):
                try:
                    proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=cwd)
                except (OSError, subprocess.SubprocessError) as exc:
                    failures.append(f"{command[0]}: {exc}")
                    break
                # a job of the running workflow may replace an output while this nested
                # Snakemake builds its DAG ("... It could be that a concurrent process has
                # deleted it"): a transient race, so that run is repeated
                if (
                    proc.returncode != 0
                    and "concurrent process" in proc.stderr
                    and attempt < RULEGRAPH_RACE_RETRIES
                ):
                    time.sleep(1 + attempt)
                    continue
                start, end = proc.stdout.find("digraph"), proc.stdout.rfind("}")
                if proc.returncode == 0 and start >= 0 and end > start:
                    if logger:
                        logger.info("rule graph from: %s", " ".join(command))
                    return canonical_dot(proc.stdout[start : end + 1])
                tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
                failures.append(f"{' '.join(command[:3])} exited {proc.returncode}: {tail}")
                break
    raise RulegraphError("snakemake --rulegraph failed: " + " | ".join(failures))
