"""What every task reads: the host's settings (one object per host), the roles of the hosts,
the release to deploy, the secrets, the certificates; and the checks of the settings."""
