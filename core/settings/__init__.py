"""Every setting declared once (defaults.py), its checks, the roles, the secrets, the
environment's names, and each host's settings resolved into one object (resolved.py)."""
