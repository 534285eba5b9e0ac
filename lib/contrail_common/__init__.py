"""Shared library of the Contrail charms.

The charm base class (one reconcile, one status), container engines (Docker Engine, containerd)
behind one declarative interface, host helpers for the vRouter (kernel module, hugepages, DPDK),
nrpe monitoring, relation databags, rendering, typed config and status helpers. Charms get a
copy of this package in their `lib/` directory at build time (see `charmcraft-common/prepare.py`).
"""
