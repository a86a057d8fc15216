"""The building: a cluster drawn as floors (nodes), apartments (pods) and rooms (containers).

`draw_building(nodes, pods)` takes the lists the API returns and gives back a matplotlib
Figure; nothing here talks to a cluster, so the live view and the tests draw the same picture.
Every artist a test may count carries a `gid`:

    floor:<node>            the floor's band          floor-status:<node>  "NotReady"/"Unreachable"
    usage:<node>:cpu|memory the load bar's filled part lobby                the unscheduled pods' lobby
    apartment:<ns>/<pod>    a pod                     room:<kind>:<pod>/<container>  a container
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch, Patch, Rectangle

from . import states

WIDTH_IN = 12.0
ROW_IN = 0.95  # one row of apartments, in inches
PANEL_RIGHT = 22.0  # the floor's name plate and load bars take x 0..22 of 100
APARTMENTS_LEFT, APARTMENTS_RIGHT = 24.0, 99.5
FLOOR_COLOURS = {"Ready": "#f8f9fa", "NotReady": "#d3d3d3", "Unreachable": "#bdbdbd"}
LOBBY_COLOUR = "#fff3cd"


def draw_building(nodes: list[dict], pods: list[dict], title: str | None = None) -> Figure:
    """The cluster as a building: control plane on top, workers below, the lobby at the bottom."""
    floors = _floors(nodes, pods)
    lobby = [p for p in pods if not (p.get("spec") or {}).get("nodeName")]
    busiest = max([len(f[1]) for f in floors] + [len(lobby), 1])
    columns = min(max(busiest, 3), 8 if busiest <= 40 else 10)
    bands = [(node, floor_pods) for node, floor_pods in floors] + ([(None, lobby)] if lobby else [])
    heights = [_rows(len(band_pods), columns) + 0.35 for _, band_pods in bands]
    total = sum(heights) or 1.0
    legend_in, title_in = 0.9, 0.5
    height_in = total * ROW_IN + legend_in + title_in
    fig = Figure(figsize=(WIDTH_IN, height_in))
    ax = fig.add_axes((0.005, legend_in / height_in, 0.99, total * ROW_IN / height_in))
    ax.set_xlim(0, 100)
    ax.set_ylim(total, 0)  # y grows downwards: the top floor is drawn first
    ax.axis("off")
    font = 8 if columns <= 5 else 7 if columns <= 8 else 6
    top = 0.0
    for (node, floor_pods), height in zip(bands, heights, strict=True):
        if node is None:
            _draw_lobby(ax, top, height)
        else:
            _draw_floor(ax, node, floor_pods, top, height, font)
        _draw_apartments(ax, floor_pods, top, columns, font)
        top += height
    if not bands:
        ax.text(50, total / 2, "an empty lot: no floors (nodes) and no apartments (pods) yet",
                ha="center", va="center", fontsize=11, gid="empty")
    fig.suptitle(title or _default_title(nodes, pods), fontsize=12, y=1 - 0.12 / height_in, va="top")
    _draw_legend(fig, legend_in / height_in)
    return fig


def render_png(fig: Figure, path) -> Path:
    """Save the figure as a PNG (for the course's pages and for learners' notes)."""
    path = Path(path)
    fig.savefig(path, format="png", dpi=100)
    return path


# layout

def _floors(nodes: list[dict], pods: list[dict]) -> list[tuple[dict, list[dict]]]:
    """(node, its pods), control plane first; pods bound to a node we were not given get a
    floor of their own, drawn as unreachable, so no apartment disappears from the picture."""
    by_node: dict[str, list[dict]] = {}
    for pod in pods:
        node_name = (pod.get("spec") or {}).get("nodeName")
        if node_name:
            by_node.setdefault(node_name, []).append(pod)
    known = {states.name_of(n) for n in nodes}
    ghosts = [{"metadata": {"name": name}, "status": {}} for name in sorted(by_node) if name not in known]
    ordered = sorted(list(nodes) + ghosts,
                     key=lambda n: (states.role_of(n) != "control-plane", states.name_of(n)))
    return [(n, sorted(by_node.get(states.name_of(n), []), key=states.name_of)) for n in ordered]


def _rows(count: int, columns: int) -> int:
    return max(1, -(-count // columns))


def _default_title(nodes: list[dict], pods: list[dict]) -> str:
    ready = sum(1 for p in pods if states.pod_state(p) == "Ready")
    return (f"The building: {len(nodes)} floor{'s' * (len(nodes) != 1)} (nodes), "
            f"{len(pods)} apartment{'s' * (len(pods) != 1)} (pods), {ready} ready")


def _draw_floor(ax, node: dict, pods: list[dict], top: float, height: float, font: int) -> None:
    name, condition = states.name_of(node), states.condition_of(node)
    ax.add_patch(Rectangle((0, top + 0.05), 100, height - 0.1, facecolor=FLOOR_COLOURS[condition],
                           edgecolor="#495057", linewidth=1.2, gid=f"floor:{name}"))
    ax.text(1, top + 0.25, _fit(name, 24), fontsize=9, fontweight="bold", va="center", gid=f"floor-name:{name}")
    role = states.role_of(node)
    if (node.get("spec") or {}).get("unschedulable"):
        role += ", cordoned"
    ax.text(1, top + 0.5, f"{role} · {len(pods)} pod{'s' * (len(pods) != 1)}", fontsize=7.5, va="center",
            color="#495057")
    if condition != "Ready":
        text = "NotReady" if condition == "NotReady" else "Unreachable"
        ax.text(PANEL_RIGHT, top + 0.25, text, fontsize=8, color="#c1121f", ha="right", va="center",
                fontweight="bold", gid=f"floor-status:{name}")
    for row, (resource, (requested, allocatable)) in enumerate(states.floor_load(node, pods).items()):
        _draw_load_bar(ax, name, resource, requested, allocatable, top + 0.75 + row * 0.28)


def _draw_load_bar(ax, node: str, resource: str, requested, allocatable, y: float) -> None:
    left, width = 1.0, 12.0
    fraction = float(requested / allocatable) if allocatable else 0.0
    ax.add_patch(Rectangle((left, y - 0.09), width, 0.18, facecolor="white", edgecolor="#868e96", linewidth=0.6))
    colour = "#e63946" if fraction > 0.9 else "#f4a261" if fraction > 0.7 else "#2a9d8f"
    ax.add_patch(Rectangle((left, y - 0.09), width * min(fraction, 1.0), 0.18, facecolor=colour,
                           edgecolor="none", gid=f"usage:{node}:{resource}"))
    ax.text(left + width + 0.6, y, f"{resource} {_amount(resource, requested)}/{_amount(resource, allocatable)}",
            fontsize=6.5, va="center", color="#343a40")


def _amount(resource: str, value) -> str:
    if resource == "cpu":
        return f"{float(value):.2g}" if value else "0"
    gib = float(value) / 2**30
    return f"{gib:.1f}Gi" if gib >= 1 else f"{float(value) / 2**20:.0f}Mi"


def _draw_lobby(ax, top: float, height: float) -> None:
    ax.add_patch(Rectangle((0, top + 0.05), 100, height - 0.1, facecolor=LOBBY_COLOUR, edgecolor="#b08900",
                           linewidth=1.2, linestyle="--", gid="lobby"))
    ax.text(1, top + 0.3, "Lobby", fontsize=9, fontweight="bold", va="center")
    ax.text(1, top + 0.6, "waiting to be given\na floor (not scheduled)", fontsize=7, va="top", color="#495057")


def _draw_apartments(ax, pods: list[dict], top: float, columns: int, font: int) -> None:
    span = (APARTMENTS_RIGHT - APARTMENTS_LEFT) / columns
    width_in = span * WIDTH_IN / 100
    characters = max(6, int(width_in * 72 / (font * 0.8)))  # bold letters take ~0.8 em
    for index, pod in enumerate(pods):
        row, column = divmod(index, columns)
        x, y = APARTMENTS_LEFT + column * span, top + 0.15 + row
        _draw_apartment(ax, pod, x, y, span - 0.8, 0.85, font, characters)


def _draw_apartment(ax, pod: dict, x: float, y: float, w: float, h: float, font: int, characters: int) -> None:
    meta, status = pod.get("metadata") or {}, pod.get("status") or {}
    name, state = meta.get("name", ""), states.pod_state(pod)
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0,rounding_size=0.12",
                                facecolor=states.STATES[state][1], edgecolor="#212529",
                                linewidth=1.0, linestyle="--" if state == "Terminating" else "-",
                                gid=f"apartment:{meta.get('namespace', '')}/{name}", zorder=2))
    ax.text(x + 0.4, y + 0.14, _fit(name, characters), fontsize=font, fontweight="bold", va="center", zorder=3)
    address = status.get("podIP") or "no address yet"
    ax.text(x + 0.4, y + 0.33, _fit(address, characters), fontsize=font - 0.5, va="center", zorder=3)
    reason = states.pod_reason(pod)
    ax.text(x + 0.4, y + 0.5, _fit(reason, characters), fontsize=font - 1, va="center", color="#212529",
            style="italic", zorder=3)
    rooms = states.rooms_of(pod)
    if not rooms:
        return
    room_w = (w - 0.6) / len(rooms)
    for i, (container, kind) in enumerate(rooms):
        _, colour, hatch = states.ROOMS[kind]
        left = x + 0.3 + i * room_w
        ax.add_patch(Rectangle((left, y + h - 0.24), room_w - 0.15, 0.18, facecolor=colour,
                               edgecolor="#343a40", linewidth=0.6, hatch=hatch,
                               gid=f"room:{kind}:{name}/{container}", zorder=3))
        room_characters = int(characters * (room_w - 0.3) / w)
        if room_characters >= 4:  # name the room when it fits; small rooms stay plain
            ax.text(left + 0.2, y + h - 0.15, _fit(container, room_characters), fontsize=font - 1.5,
                    va="center", zorder=4, bbox={"facecolor": colour, "edgecolor": "none", "pad": 0.3})


def _fit(text: str, characters: int) -> str:
    """Shorten in the middle: the head says what it is, the tail tells replicas apart."""
    if len(text) <= characters:
        return text
    tail = max((characters - 1) // 2, 1)
    return text[: max(characters - 1 - tail, 1)] + "…" + text[-tail:]


def _draw_legend(fig: Figure, height: float) -> None:
    handles = [Patch(facecolor=colour, edgecolor="#212529", label=text) for text, colour in states.STATES.values()]
    handles += [Patch(facecolor=colour, edgecolor="#343a40", hatch=hatch, label=text)
                for text, colour, hatch in states.ROOMS.values()]
    handles += [Patch(facecolor=FLOOR_COLOURS["Unreachable"], edgecolor="#495057", label="floor offline"),
                Patch(facecolor=LOBBY_COLOUR, edgecolor="#b08900", linestyle="--", label="lobby (unscheduled)")]
    fig.legend(handles=handles, loc="lower center", ncol=7, fontsize=7, frameon=False,
               bbox_to_anchor=(0.5, 0.0), borderaxespad=0.3 * height)
