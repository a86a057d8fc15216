"""What a kubelet needs from the images package: models, pulls, and the pod's files.

`NodeImages` is one node's image store: which images were pulled already (so that
`IfNotPresent` says "already present on machine"), how long a simulated pull takes, and the
image model each container runs. Models come from `images.registry.model_for(container)`
(or the catalogue the kubelet was given); the pod's files from `images.files.PodFilesystem`.
Both are imported lazily: until they exist, every image runs `base.ImageModel()` and a pod's
files live in `FlatPodFiles`, a minimal stand-in.
"""

from __future__ import annotations

import asyncio
import errno
import importlib
from collections.abc import Callable

from . import kubelet_formats
from .images import base


def _module(name: str):
    try:
        return importlib.import_module(f"k8s_course.sim.images.{name}")
    except ImportError:
        return None


class NodeImages:
    """The images on one node and how they arrive."""

    def __init__(self, catalogue=None, pull_delay: float | dict | Callable[[str], float] = 0.0):
        self._catalogue = catalogue
        self._pull_delay = pull_delay
        self.present: set[str] = set()  # full references, docker.io/library/nginx:1.27

    def model_for(self, container: dict) -> base.ImageModel:
        """A fresh model for one container start; raises base.PullError for a bad image."""
        catalogue = self._catalogue
        if catalogue is None:
            catalogue = _module("registry")
        if catalogue is None or not hasattr(catalogue, "model_for"):
            return base.ImageModel()
        return catalogue.model_for(container)

    def pull_seconds(self, image: str) -> float:
        delay = self._pull_delay
        if callable(delay):
            return float(delay(image))
        if isinstance(delay, dict):
            return float(delay.get(image, delay.get(kubelet_formats.full_image(image), delay.get("*", 0.0))))
        return float(delay)

    def is_present(self, image: str) -> bool:
        return kubelet_formats.full_image(image) in self.present

    def add(self, image: str) -> None:
        self.present.add(kubelet_formats.full_image(image))


def pod_files(pod: dict, ip: str):
    """The pod's filesystem: images.files.PodFilesystem, or the flat stand-in."""
    files = _module("files")
    spec, meta = pod.get("spec") or {}, pod["metadata"]
    hostname = spec.get("hostname") or meta["name"]
    if files is not None and hasattr(files, "PodFilesystem"):
        return files.PodFilesystem(spec, hostname=hostname, pod_ip=ip,
                                   namespace=meta.get("namespace", "default"))
    return FlatPodFiles()


class FlatPodFiles:
    """One flat dict of path -> text shared by the pod's containers (stand-in for images.files)."""

    def __init__(self) -> None:
        self.files: dict[str, str] = {}
        self.dirs: set[str] = {"/", "/tmp", "/etc"}
        self.read_only: set[str] = set()  # directories the kubelet projected
        self._waiters: dict[str, list[asyncio.Future]] = {}

    def view(self, container_name: str) -> FlatPodFiles:
        return self

    def set_network(self, hostname: str, pod_ip: str) -> None:
        self.files["/etc/hostname"] = hostname + "\n"

    def reset_container(self, container_name: str) -> None:
        pass

    def mount_files(self, volume: str, files: dict[str, str], read_only: bool = True) -> None:
        """Without mount paths to go by, a volume's files land under /<volume>/."""
        root = f"/{volume}"
        self.dirs.add(root)
        for path, text in files.items():
            self.files[f"{root}/{path}"] = text
        if read_only:
            self.read_only.add(root)

    # base.PodFiles

    def read(self, path: str) -> str:
        if path in self.dirs:
            raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
        if path not in self.files:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
        return self.files[path]

    def write(self, path: str, text: str, append: bool = False) -> None:
        if any(path.startswith(root + "/") for root in self.read_only):
            raise OSError(errno.EROFS, "Read-only file system", path)
        self.files[path] = (self.files.get(path, "") + text) if append else text
        for waiter in self._waiters.pop(path, []):
            if not waiter.done():
                waiter.set_result(None)

    def exists(self, path: str) -> bool:
        return path in self.files or path in self.dirs

    def is_dir(self, path: str) -> bool:
        return path in self.dirs

    def listdir(self, path: str) -> list[str]:
        prefix = path.rstrip("/") + "/"
        names = {p[len(prefix):].split("/")[0] for p in [*self.files, *self.dirs] if p.startswith(prefix)}
        return sorted(n for n in names if n)

    def mkdir(self, path: str, parents: bool = False) -> None:
        self.dirs.add(path.rstrip("/") or "/")

    def remove(self, path: str) -> None:
        if self.files.pop(path, None) is None:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)

    async def wait_for_change(self, path: str) -> None:
        future = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(path, []).append(future)
        await future
