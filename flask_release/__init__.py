"""The release program: one per app on every app and web host (/usr/local/sbin/<app>-release),
run by root, standard library only.

It builds releases beside the serving one as the app user, backs the database up, migrates,
switches, reloads gunicorn gracefully, health-checks and goes back on failure; it keeps root's
record of releases in /var/lib/<app>. Nothing the app user can write is executed, followed or
trusted by it. The deploy imports its pure parts (layout, names, keys) from here too."""
