"""Monitoring integrations shared by every Contrail charm (`nrpe` for legacy Nagios)."""
