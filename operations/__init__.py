"""Custom operations, for what pyinfra has no idempotent operation of its own."""
