"""The test bed: the local Debian server, sample apps and their repositories, fresh servers and clusters, HTTP load. Imported by the tools, the benchmarks and the tests."""
