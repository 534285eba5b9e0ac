"""Shared library of the Contrail charms.

Container engines (Docker Engine, containerd) behind one declarative interface, file rendering,
host-path rooting, typed-config and status helpers. Charms get a copy of this package in their
`lib/` directory at build time (see `charmcraft-common/prepare.py`).
"""
