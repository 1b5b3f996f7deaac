"""Custom facts: what the tasks read from a server, as pyinfra's own facts/ do."""
