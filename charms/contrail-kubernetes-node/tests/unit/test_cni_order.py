"""Which CNI config a machine uses: ours against Charmed Kubernetes' default link and CNIs.

containerd takes the first .conf/.conflist/.json of /etc/cni/net.d by name
(containerd/go-cni@3dbce1ddff6e2f62ce46f00d69637249efb6069d:opts.go, loadFromConfDir: ConfFiles
with those extensions, then sort.Strings).
"""

from __future__ import annotations

import os

import pytest
from kubernetes_node import CNI_CONF_NAME, OLD_CNI_CONF_NAMES, old_cni_confs_to_remove

# What the control plane links to its default-cni's file, one name per extension it may take
# (charmed-kubernetes/charm-lib-kubernetes-snaps@811b8fd6340ebb96688c67fe3817ecd7788ae15f:
# charms/kubernetes_snaps.py, set_default_cni_conf_file: `01-default.<ext of the file>`).
DEFAULT_LINKS = ("01-default.conf", "01-default.conflist", "01-default.json")
# The files the CNIs of Charmed Kubernetes 1.31 write (branch release_1.31 of each charm).
CK_CNI_FILES = {
    # charmed-kubernetes/charm-kube-ovn@8498d6dc93d74febc2fae3d929d4f0b972ff7db4:src/charm.py
    "01-kube-ovn.conflist": "kube-ovn",
    # charmed-kubernetes/charm-cilium@74ee7b7e1f9f644dc2f182db4aec9ed69d7bd85c:
    # upstream/cilium/manifests/1.14.11/cilium.yaml, write-cni-conf-when-ready
    "05-cilium.conflist": "cilium",
    # charmed-kubernetes/charm-calico@c4ead7c461320b5056dc29f790ca48d4770c9fa8:src/charm.py
    "10-calico.conflist": "calico",
    # charmed-kubernetes/charm-flannel@b1b93fa591f0148ba554eaea12a84d51ccc7b2d3:reactive/flannel.py
    "10-flannel.conflist": "flannel",
}
# What the cni-init image writes for itself (kubernetes_node.IMAGE_CNI_CONF_PATH).
IMAGE_FILE = "10-contrail.conf"


def chosen(names: list[str]) -> str:
    """The config file containerd uses among `names`."""
    return sorted(n for n in names if os.path.splitext(n)[1] in (".conf", ".conflist", ".json"))[0]


def test_ours_sorts_after_the_default_link_and_before_every_other_cni():
    names = sorted([*DEFAULT_LINKS, CNI_CONF_NAME, *CK_CNI_FILES, IMAGE_FILE])
    assert names[: len(DEFAULT_LINKS) + 1] == [*DEFAULT_LINKS, CNI_CONF_NAME]
    assert CNI_CONF_NAME.endswith("contrail.conf"), "Contrail's binary reads *contrail.conf"


def test_the_old_name_sorted_before_the_default_link():
    assert all(old < min(DEFAULT_LINKS) for old in OLD_CNI_CONF_NAMES)


@pytest.mark.parametrize("other", sorted(CK_CNI_FILES))
def test_control_plane_uses_the_cni_its_default_link_names(other):
    """default-cni picks; with it empty, the CNI application first by name does."""
    assert chosen(["01-default.conflist", CNI_CONF_NAME, other]) == "01-default.conflist"
    assert chosen([CNI_CONF_NAME, other]) == CNI_CONF_NAME, "before the link is made"


@pytest.mark.parametrize("default_cni", ["", "calico", "contrail-kubernetes-node"])
@pytest.mark.parametrize("other", sorted(CK_CNI_FILES))
def test_worker_uses_contrail_whatever_default_cni_says(default_cni, other):
    """A worker links `01-default.<default-cni>`: kube-control carries the application name,
    not a file name (charmed-kubernetes/charm-kubernetes-worker@
    581ea2bc0f7ce8e5404abe23f88820e60252b010:src/charm.py, _configure_cni), and containerd
    skips that extension."""
    names = [CNI_CONF_NAME, other, IMAGE_FILE]
    if default_cni:
        names.append(f"01-default.{default_cni}")
    assert chosen(names) == CNI_CONF_NAME


def test_an_old_file_stays_while_the_default_link_names_it(tmp_path):
    old = tmp_path / OLD_CNI_CONF_NAMES[0]
    old.write_text("{}")
    (tmp_path / CNI_CONF_NAME).write_text("{}")
    link = tmp_path / "01-default.conf"
    link.symlink_to(old.name)  # relative, as the control plane makes it
    assert old_cni_confs_to_remove(tmp_path) == []
    link.unlink()
    link.symlink_to(CNI_CONF_NAME)
    assert old_cni_confs_to_remove(tmp_path) == [old]


def test_nothing_to_remove_without_the_directory_or_the_file(tmp_path):
    assert old_cni_confs_to_remove(tmp_path / "missing") == []
    assert old_cni_confs_to_remove(tmp_path) == []
