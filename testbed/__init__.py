"""The test bed: the local Debian server, the sample app and its repositories, a git host, fresh
servers and clusters, HTTP requests and load. Imported by the tools, the benchmarks and the tests."""
