"""The files of one simulated pod: each container's own root filesystem plus the pod's volumes.

A real pod's containers each get a fresh root filesystem from their image, while the pod's
volumes (an emptyDir, a ConfigMap's files, a claim's disk) are mounted into the containers that
name them in `volumeMounts`. `PodFilesystem` keeps that split in memory: a `Volume` is a small
tree of directories and text files, a container's view resolves an absolute path through its
mounts (longest mountPath first, with subPath and readOnly) to one volume and a path inside it.
The kubelet fills ConfigMap, Secret, downward API and projected volumes with `mount_files`;
those are read-only, as on a real node.
"""

from __future__ import annotations

import asyncio
import errno
import posixpath
from dataclasses import dataclass

from k8s_course.sim.images import contents

# volumes whose files the kubelet writes and the container may only read
READ_ONLY_SOURCES = ("configMap", "secret", "downwardAPI", "projected")

HOSTS_HEADER = (
    "# Kubernetes-managed hosts file.\n"
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::0\tip6-localnet\n"
    "fe00::0\tip6-mcastprefix\n"
    "fe00::1\tip6-allnodes\n"
    "fe00::2\tip6-allrouters\n"
)


def read_only_error(path: str) -> OSError:
    return OSError(errno.EROFS, "Read-only file system", path)


def _missing(path: str) -> OSError:
    return FileNotFoundError(errno.ENOENT, "No such file or directory", path)


class Volume:
    """A tree of directories and text files (paths relative to the volume's root, "" = root)."""

    def __init__(self, read_only: bool = False):
        self.read_only = read_only
        self.files: dict[str, str] = {}
        self.dirs: set[str] = {""}
        self._waiters: dict[str, list[asyncio.Future]] = {}

    def _parent_exists(self, rel: str) -> bool:
        return posixpath.dirname(rel) in self.dirs

    def read(self, rel: str, shown: str) -> str:
        if rel in self.dirs:
            raise IsADirectoryError(errno.EISDIR, "Is a directory", shown)
        if rel not in self.files:
            raise _missing(shown)
        return self.files[rel]

    def write(self, rel: str, text: str, append: bool, shown: str, force: bool = False) -> None:
        if self.read_only and not force:
            raise read_only_error(shown)
        if rel in self.dirs:
            raise IsADirectoryError(errno.EISDIR, "Is a directory", shown)
        if not self._parent_exists(rel):
            if not force:
                raise _missing(shown)
            self.mkdir(posixpath.dirname(rel), True, shown, force=True)
        self.files[rel] = (self.files.get(rel, "") + text) if append else text
        self._changed(rel)

    def mkdir(self, rel: str, parents: bool, shown: str, force: bool = False) -> None:
        if self.read_only and not force:
            raise read_only_error(shown)
        if rel in self.dirs or rel in self.files:
            if parents and rel in self.dirs:
                return
            raise FileExistsError(errno.EEXIST, "File exists", shown)
        parent = posixpath.dirname(rel)
        if parent not in self.dirs:
            if not parents:
                raise _missing(shown)
            self.mkdir(parent, True, shown, force)
        self.dirs.add(rel)

    def remove(self, rel: str, shown: str) -> None:
        if self.read_only:
            raise read_only_error(shown)
        if rel in self.files:
            del self.files[rel]
            self._changed(rel)
            return
        if rel not in self.dirs or rel == "":
            raise _missing(shown) if rel != "" else OSError(errno.EBUSY, "Resource busy", shown)
        prefix = rel + "/"
        for path in [p for p in self.files if p.startswith(prefix)]:
            del self.files[path]
        self.dirs = {d for d in self.dirs if d != rel and not d.startswith(prefix)}

    def listdir(self, rel: str) -> list[str]:
        prefix = rel + "/" if rel else ""
        names = {p[len(prefix):].split("/", 1)[0] for p in (*self.files, *self.dirs)
                 if p.startswith(prefix) and p != rel}
        return sorted(n for n in names if n)

    def replace_all(self, files: dict[str, str]) -> None:
        """Swap in a new set of files (the kubelet's atomic update of a ConfigMap volume)."""
        old = set(self.files)
        self.files, self.dirs = {}, {""}
        for rel, text in files.items():
            self.write(_clean_relative(rel), text, False, rel, force=True)
        for rel in old - set(self.files):
            self._changed(rel)

    async def wait_for_change(self, rel: str) -> None:
        future = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(rel, []).append(future)
        try:
            await future
        finally:
            waiting = self._waiters.get(rel)
            if waiting and future in waiting:
                waiting.remove(future)

    def _changed(self, rel: str) -> None:
        for future in self._waiters.pop(rel, []):
            if not future.done():
                future.set_result(None)


@dataclass
class Mount:
    path: str  # absolute mountPath in the container
    volume: Volume
    sub_path: str  # inside the volume ("" = its root)
    read_only: bool


def _clean_relative(path: str) -> str:
    cleaned = posixpath.normpath("/" + path).lstrip("/")
    return "" if cleaned == "." else cleaned


def _clean_absolute(path: str, cwd: str = "/") -> str:
    return posixpath.normpath(posixpath.join(cwd, path)) if path else cwd


class PodFilesystem:
    """All the files of one pod; `view(container)` is what one container sees."""

    def __init__(self, pod_spec: dict, *, hostname: str = "", pod_ip: str = "",
                 namespace: str = "default", volumes: dict[str, Volume] | None = None):
        self.spec = pod_spec
        self.hostname = hostname or pod_spec.get("hostname") or ""
        self.pod_ip = pod_ip
        self.namespace = namespace
        self.volumes: dict[str, Volume] = {}
        given = volumes or {}
        for volume in pod_spec.get("volumes") or []:
            name = volume.get("name")
            read_only = any(source in volume for source in READ_ONLY_SOURCES)
            self.volumes[name] = given.get(name) or Volume(read_only=read_only)
        self._roots: dict[str, Volume] = {}
        self._mounts: dict[str, list[Mount]] = {}
        for container in self._containers():
            self._build_container(container)

    def _containers(self) -> list[dict]:
        spec = self.spec
        return [*(spec.get("initContainers") or []), *(spec.get("containers") or []),
                *(spec.get("ephemeralContainers") or [])]

    def _build_container(self, container: dict) -> None:
        name = container.get("name", "")
        security = container.get("securityContext") or {}
        root = Volume()
        for rel, text in contents.shipped_files(container.get("image", "")).items():
            if rel.endswith("/"):
                root.mkdir(_clean_relative(rel), True, rel, force=True)
            else:
                root.write(_clean_relative(rel), text, False, rel, force=True)
        for directory in ("tmp", "etc", "root", "var/log", "dev", "proc"):
            root.mkdir(directory, True, directory, force=True)
        self._write_kubelet_files(root)
        if container.get("workingDir"):  # the runtime creates a missing working directory
            root.mkdir(_clean_relative(container["workingDir"]), True, "", force=True)
        mounts = []
        for spec_mount in container.get("volumeMounts") or []:
            volume = self.volumes.get(spec_mount.get("name"))
            if volume is None:
                continue
            path = _clean_absolute(spec_mount.get("mountPath", "/"))
            sub_path = _clean_relative(spec_mount.get("subPath") or "")
            if sub_path and sub_path not in volume.files and not volume.read_only:
                volume.mkdir(sub_path, True, path, force=True)  # the kubelet creates subPath dirs
            if sub_path in volume.files:
                root.mkdir(posixpath.dirname(path).lstrip("/"), True, path, force=True)
            else:
                root.mkdir(path.lstrip("/"), True, path, force=True)
            read_only = bool(spec_mount.get("readOnly")) or volume.read_only
            mounts.append(Mount(path, volume, sub_path, read_only))
        mounts.sort(key=lambda m: len(m.path), reverse=True)
        root.read_only = bool(security.get("readOnlyRootFilesystem"))
        self._roots[name] = root
        self._mounts[name] = mounts

    def _write_kubelet_files(self, root: Volume) -> None:
        root.write("etc/hostname", self.hostname + "\n", False, "/etc/hostname", force=True)
        root.write("etc/hosts", self.hosts_file(), False, "/etc/hosts", force=True)
        search = f"{self.namespace}.svc.cluster.local svc.cluster.local cluster.local"
        root.write("etc/resolv.conf", f"search {search}\nnameserver 10.96.0.10\noptions ndots:5\n",
                   False, "/etc/resolv.conf", force=True)

    def hosts_file(self) -> str:
        """/etc/hosts as the kubelet writes it: localhost, the pod's own name, hostAliases."""
        text = HOSTS_HEADER
        if self.pod_ip:
            subdomain = self.spec.get("subdomain")
            if subdomain:
                fqdn = f"{self.hostname}.{subdomain}.{self.namespace}.svc.cluster.local"
                text += f"{self.pod_ip}\t{fqdn}\t{self.hostname}\n"
            else:
                text += f"{self.pod_ip}\t{self.hostname}\n"
        aliases = self.spec.get("hostAliases") or []
        if aliases:
            text += "\n# Entries added by HostAliases.\n"
            for alias in aliases:
                text += "\t".join([alias.get("ip", ""), *(alias.get("hostnames") or [])]) + "\n"
        return text

    def set_network(self, hostname: str, pod_ip: str) -> None:
        """The pod got its IP (sandbox created): rewrite /etc/hosts and /etc/hostname."""
        self.hostname, self.pod_ip = hostname, pod_ip
        for root in self._roots.values():
            self._write_kubelet_files(root)

    def attach(self, volume_name: str, volume: Volume) -> None:
        """Mount a volume that outlives the pod (a claim's disk) in place of the pod's own,
        before the containers start: their mounts are rebuilt on it."""
        self.volumes[volume_name] = volume
        for container in self._containers():
            self._build_container(container)

    def mount_files(self, volume_name: str, files: dict[str, str], read_only: bool = True) -> None:
        """Fill (or atomically refresh) a volume the kubelet projects: ConfigMap, Secret, ..."""
        volume = self.volumes.setdefault(volume_name, Volume())
        volume.replace_all(files)
        volume.read_only = read_only

    def reset_container(self, container_name: str) -> None:
        """A restarted container starts from its image again; the pod's volumes keep their files."""
        for container in self._containers():
            if container.get("name") == container_name:
                self._build_container(container)

    def view(self, container_name: str) -> ContainerFiles:
        if container_name not in self._roots:
            raise KeyError(f"no container {container_name!r} in this pod")
        return ContainerFiles(self, container_name)

    def resolve(self, container_name: str, path: str) -> tuple[Volume, str, bool]:
        """An absolute path in a container -> (volume, path inside it, whether it is read-only)."""
        path = _clean_absolute(path)
        for mount in self._mounts[container_name]:
            if path == mount.path or path.startswith(mount.path.rstrip("/") + "/"):
                rest = path[len(mount.path):].lstrip("/")
                rel = posixpath.join(mount.sub_path, rest) if rest else mount.sub_path
                return mount.volume, rel.rstrip("/"), mount.read_only
        root = self._roots[container_name]
        return root, path.lstrip("/"), root.read_only

    def mount_points(self, container_name: str) -> list[str]:
        return [m.path for m in self._mounts[container_name]]


class ContainerFiles:
    """One container's view of its pod's files (implements base.PodFiles)."""

    def __init__(self, pod: PodFilesystem, container_name: str):
        self.pod = pod
        self.container = container_name

    def _resolve(self, path: str) -> tuple[Volume, str, bool]:
        return self.pod.resolve(self.container, path)

    def read(self, path: str) -> str:
        if path == "/dev/null":
            return ""
        volume, rel, _ = self._resolve(path)
        return volume.read(rel, path)

    def write(self, path: str, text: str, append: bool = False) -> None:
        if path == "/dev/null":
            return
        volume, rel, read_only = self._resolve(path)
        if read_only:
            raise read_only_error(path)
        volume.write(rel, text, append, path)

    def exists(self, path: str) -> bool:
        volume, rel, _ = self._resolve(path)
        return rel in volume.files or rel in volume.dirs or path == "/dev/null"

    def is_dir(self, path: str) -> bool:
        volume, rel, _ = self._resolve(path)
        return rel in volume.dirs

    def listdir(self, path: str) -> list[str]:
        volume, rel, _ = self._resolve(path)
        if rel in volume.files:
            raise NotADirectoryError(errno.ENOTDIR, "Not a directory", path)
        if rel not in volume.dirs:
            raise _missing(path)
        names = set(volume.listdir(rel))
        base = _clean_absolute(path).rstrip("/") + "/"
        for mount in self.pod.mount_points(self.container):
            if mount.startswith(base) and "/" not in mount[len(base):]:
                names.add(mount[len(base):])
        return sorted(names)

    def mkdir(self, path: str, parents: bool = False) -> None:
        volume, rel, read_only = self._resolve(path)
        if read_only and not (parents and rel in volume.dirs):
            raise read_only_error(path)
        volume.mkdir(rel, parents, path)

    def remove(self, path: str) -> None:
        volume, rel, read_only = self._resolve(path)
        if _clean_absolute(path) in self.pod.mount_points(self.container):
            raise OSError(errno.EBUSY, "Resource busy", path)
        if read_only:
            raise read_only_error(path)
        volume.remove(rel, path)

    async def wait_for_change(self, path: str) -> None:
        volume, rel, _ = self._resolve(path)
        await volume.wait_for_change(rel)
