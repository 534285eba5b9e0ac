"""What the Contrail / OpenSDN images are: release lines and the per-container env contract."""
