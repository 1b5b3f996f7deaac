"""pyinfra's side: callbacks, timings, templates rendered, the release program built, the Debian
release read."""
