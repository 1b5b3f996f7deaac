"""HTTP for the tests and benchmarks: requests to the servers' published ports on 127.0.0.1, never
through a proxy, and a steady load that counts what fails."""

import http.client
import ipaddress
import socket
import ssl
import time
import urllib.parse


def http_get(url, timeout=10, follow_redirects=True, host=None, method="GET", body=None, headers=None):
    """(status, headers, body) of a request to one of our servers on 127.0.0.1, never through a
    proxy; `host` is sent as the Host header and, over HTTPS, as the TLS server name (none for an
    IP address, as browsers do). The certificate is not checked: it is often self-signed."""
    parts = urllib.parse.urlsplit(url)
    name = host or parts.hostname
    if parts.scheme == "https":
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        connection = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout, context=context)
        connection.sock = context.wrap_socket(
            socket.create_connection((parts.hostname, parts.port), timeout=timeout),
            server_hostname=None if _is_ip(name.split(":")[0]) else name.split(":")[0],
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request(method, path, body=body, headers={"Host": host or parts.netloc, **(headers or {})})
        response = connection.getresponse()
        status, response_headers, text = response.status, response.headers, response.read().decode(errors="replace")
    finally:
        connection.close()
    if follow_redirects and status in (301, 302, 303, 307, 308):
        location = urllib.parse.urljoin(url, response_headers["Location"])
        target = urllib.parse.urlsplit(location)
        # our servers are reached at 127.0.0.1 whatever name they redirect to
        return http_get(
            urllib.parse.urlunsplit(
                (target.scheme, f"127.0.0.1:{target.port or parts.port}", target.path, target.query, "")
            ),
            timeout,
            True,
            target.netloc,
        )
    return status, response_headers, text


def _is_ip(name):
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


def wait_for_http(url, timeout, expect=200):
    """Seconds until url answers `expect`; fails after timeout."""
    start = time.time()
    while time.time() - start < timeout:
        try:
            if http_get(url, timeout=2)[0] == expect:
                return time.time() - start
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer {expect} within {timeout}s")


class _Connection(http.client.HTTPSConnection):
    """HTTPS to 127.0.0.1 whatever the name: the name goes in the TLS server name and Host alone."""

    def connect(self):
        raw = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=None if _is_ip(self.host) else self.host)


class Load:
    """Requests at `rate` per second to an https://127.0.0.1:PORT/ url while the `with` block runs,
    from a pool of threads that each keep a connection to nginx alive (as browsers do), so that the
    load itself costs little CPU. Records every response that is not 200 and every refused or
    broken connection. Like browsers (RFC 9112, 9.3.1), a GET sent on a kept-alive connection that
    the server closed before answering (nginx closes idle ones when it reloads) is sent once more on
    a new connection: counted in `retried`, a failure only if that fails too. `host`: the site's
    name, sent as the TLS server name and the Host header (default: none, and 127.0.0.1)."""

    def __init__(self, url, rate=25, timeout=30, host=None):
        import concurrent.futures
        import threading
        import urllib.parse

        parts = urllib.parse.urlsplit(url)
        self.port, self.path, self.rate, self.timeout = parts.port, parts.path or "/", rate, timeout
        self.host = host
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=32)
        self.local = threading.local()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.failures, self.successes, self.latencies, self.sent, self.retried = [], [], [], 0, 0

    def _connection(self):

        if getattr(self.local, "connection", None) is None:
            context = ssl.create_default_context()
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
            self.local.connection = _Connection(
                self.host or "127.0.0.1", self.port, context=context, timeout=self.timeout
            )
            self.local.reused = False
        return self.local.connection

    def _get(self):
        connection = self._connection()
        reused, self.local.reused = self.local.reused, True
        try:
            connection.request("GET", self.path)
            response = connection.getresponse()
            response.read()
            return response.status
        except Exception as error:
            self.local.connection = None
            closed_while_idle = (
                isinstance(error, (ConnectionResetError, BrokenPipeError))
                or type(error).__name__ == "RemoteDisconnected"
            )
            if reused and closed_while_idle:
                self.retried += 1
                return self._get()
            raise

    def _request(self):
        started = time.time()
        try:
            status = self._get()
        except Exception as error:  # refused, reset, timed out: all failures
            status = repr(error)
        if status == 200:
            self.successes.append(time.time())
            self.latencies.append((started, time.time() - started))
        else:
            self.failures.append((round(started, 2), status))

    def _run(self):
        next_at = time.time()
        while not self.stop.is_set():
            self.pool.submit(self._request)
            self.sent += 1
            next_at += 1 / self.rate
            time.sleep(max(0, next_at - time.time()))

    def __enter__(self):
        self.started = time.time()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.pool.shutdown(wait=True)
        self.ended = time.time()
        return False

    def longest_gap(self):
        """Longest time without a successful response, in seconds."""
        moments = [self.started, *sorted(self.successes), self.ended]
        return max(later - earlier for earlier, later in zip(moments, moments[1:], strict=False))

    def latency(self, percent, start=0, end=float("inf")):
        """The `percent` percentile of the response times of requests sent between start and end."""
        times = sorted(taken for sent, taken in self.latencies if start <= sent < end)
        return times[min(len(times) - 1, int(len(times) * percent / 100))] if times else float("nan")

    def summary(self):
        return (
            f"{self.sent} requests in {self.ended - self.started:.1f}s, {len(self.failures)} failed, "
            f"{self.retried} sent again on a new connection, "
            f"longest gap without a success {self.longest_gap():.2f}s"
        )
