"""A pod's files: each container's own root, the pod's volumes mounted where volumeMounts say."""

from __future__ import annotations

import asyncio
import errno

import pytest

from k8s_course.sim.images.files import PodFilesystem


def two_containers(**mount_options) -> dict:
    mount = {"name": "shared", "mountPath": "/data", **mount_options}
    return {
        "containers": [
            {"name": "writer", "image": "busybox", "volumeMounts": [mount]},
            {"name": "reader", "image": "nginx",
             "volumeMounts": [{"name": "shared", "mountPath": "/usr/share/nginx/html"},
                              {"name": "cfg", "mountPath": "/etc/app"},
                              {"name": "cfg", "mountPath": "/etc/app.conf", "subPath": "app.conf"}]},
        ],
        "volumes": [{"name": "shared", "emptyDir": {}}, {"name": "cfg", "configMap": {"name": "c"}}],
    }


def test_an_empty_dir_file_written_by_one_container_is_read_by_the_other_at_its_mount_path():
    pod = PodFilesystem(two_containers())
    pod.view("writer").write("/data/index.html", "<h1>hi</h1>\n")
    assert pod.view("reader").read("/usr/share/nginx/html/index.html") == "<h1>hi</h1>\n"
    assert pod.view("reader").listdir("/usr/share/nginx/html") == ["index.html"]


def test_each_container_has_its_own_root_with_what_its_image_ships():
    pod = PodFilesystem(two_containers())
    pod.view("writer").write("/tmp/mine", "x")
    assert not pod.view("reader").exists("/tmp/mine")
    assert "Welcome to nginx!" in PodFilesystem({"containers": [{"name": "n", "image": "nginx:1.27"}]}) \
        .view("n").read("/usr/share/nginx/html/index.html")


def test_etc_hosts_and_hostname_are_written_as_the_kubelet_writes_them():
    spec = {"containers": [{"name": "c", "image": "busybox"}], "subdomain": "db",
            "hostAliases": [{"ip": "10.1.2.3", "hostnames": ["foo.remote", "bar.remote"]}]}
    view = PodFilesystem(spec, hostname="db-0", pod_ip="10.244.1.7").view("c")
    assert view.read("/etc/hostname") == "db-0\n"
    assert view.read("/etc/hosts").splitlines() == [
        "# Kubernetes-managed hosts file.", "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback", "fe00::0\tip6-localnet",
        "fe00::0\tip6-mcastprefix", "fe00::1\tip6-allnodes", "fe00::2\tip6-allrouters",
        "10.244.1.7\tdb-0.db.default.svc.cluster.local\tdb-0", "",
        "# Entries added by HostAliases.", "10.1.2.3\tfoo.remote\tbar.remote"]


def test_configmap_files_are_read_only_and_a_sub_path_mounts_one_file():
    pod = PodFilesystem(two_containers())
    pod.mount_files("cfg", {"app.conf": "level=debug\n", "extra/x": "1"})
    view = pod.view("reader")
    assert view.read("/etc/app/app.conf") == "level=debug\n"
    assert view.read("/etc/app.conf") == "level=debug\n"
    assert view.listdir("/etc/app") == ["app.conf", "extra"]
    with pytest.raises(OSError) as raised:
        view.write("/etc/app/app.conf", "level=info\n")
    assert (raised.value.errno, raised.value.strerror) == (errno.EROFS, "Read-only file system")


def test_a_read_only_volume_mount_refuses_writes_in_that_container_only():
    pod = PodFilesystem(two_containers(readOnly=True))
    with pytest.raises(OSError, match="Read-only file system"):
        pod.view("writer").write("/data/x", "1")
    pod.view("reader").write("/usr/share/nginx/html/x", "1")
    assert pod.view("writer").read("/data/x") == "1"


def test_a_sub_path_of_an_empty_dir_is_a_directory_inside_the_volume():
    pod = PodFilesystem(two_containers(subPath="site"))
    pod.view("writer").write("/data/page", "p")
    assert pod.view("reader").read("/usr/share/nginx/html/site/page") == "p"


def test_a_restarted_container_loses_its_root_files_but_keeps_the_pods_volumes():
    pod = PodFilesystem(two_containers())
    pod.view("writer").write("/tmp/scratch", "gone")
    pod.view("writer").write("/data/kept", "kept")
    pod.reset_container("writer")
    assert not pod.view("writer").exists("/tmp/scratch")
    assert pod.view("writer").read("/data/kept") == "kept"


def test_read_only_root_filesystem_refuses_writes_outside_volumes():
    spec = two_containers()
    spec["containers"][0]["securityContext"] = {"readOnlyRootFilesystem": True}
    view = PodFilesystem(spec).view("writer")
    with pytest.raises(OSError, match="Read-only file system"):
        view.write("/tmp/x", "1")
    view.write("/data/x", "1")
    assert view.read("/data/x") == "1"


def test_missing_parents_and_directories_raise_what_the_kernel_would():
    view = PodFilesystem(two_containers()).view("writer")
    with pytest.raises(FileNotFoundError):
        view.write("/data/no/such/file", "x")
    view.mkdir("/data/no/such", parents=True)
    view.write("/data/no/such/file", "x")
    with pytest.raises(IsADirectoryError):
        view.read("/data/no")
    assert "data" in view.listdir("/")


def test_wait_for_change_returns_when_the_other_container_writes_the_file():
    pod = PodFilesystem(two_containers())

    async def scenario():
        waiter = asyncio.ensure_future(pod.view("reader").wait_for_change("/usr/share/nginx/html/log"))
        await asyncio.sleep(0)
        before = waiter.done()
        pod.view("writer").write("/data/log", "line\n", append=True)
        await asyncio.sleep(0)
        return before, waiter.done()

    assert asyncio.run(scenario()) == (False, True)
