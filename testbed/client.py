"""HTTP for the tests and benchmarks: requests to the servers' published ports on 127.0.0.1, never
through a proxy, and a steady load that counts what fails."""

import http.client
import ssl
import time
import urllib.error
import urllib.request


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def http_get(url, timeout=10, follow_redirects=True, host=None):
    """(status, headers, body) of a GET; never through a proxy: tests talk to 127.0.0.1 only."""
    unverified = ssl.create_default_context()  # our own servers, often with a self-signed certificate
    unverified.check_hostname, unverified.verify_mode = False, ssl.CERT_NONE
    handlers = [urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=unverified)]
    handlers += [] if follow_redirects else [NoRedirect()]
    opener = urllib.request.build_opener(*handlers)
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode(errors="replace")


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


class Load:
    """Requests at `rate` per second to an https://127.0.0.1:PORT/ url while the `with` block runs,
    from a pool of threads that each keep a connection to nginx alive (as browsers do), so that the
    load itself costs little CPU. Records every response that is not 200 and every refused or
    broken connection. Like browsers (RFC 9112, 9.3.1), a GET sent on a kept-alive connection that
    the server closed before answering (nginx closes idle ones when it reloads) is sent once more on
    a new connection: counted in `retried`, a failure only if that fails too."""

    def __init__(self, url, rate=25, timeout=30):
        import concurrent.futures
        import threading
        import urllib.parse

        parts = urllib.parse.urlsplit(url)
        self.port, self.path, self.rate, self.timeout = parts.port, parts.path or "/", rate, timeout
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=32)
        self.local = threading.local()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.failures, self.successes, self.sent, self.retried = [], [], 0, 0

    def _connection(self):
        import http.client

        if getattr(self.local, "connection", None) is None:
            context = ssl.create_default_context()
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
            self.local.connection = http.client.HTTPSConnection("127.0.0.1", self.port, context=context,
                                                                timeout=self.timeout)
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
            closed_while_idle = isinstance(error, (ConnectionResetError, BrokenPipeError)) or \
                type(error).__name__ == "RemoteDisconnected"
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
        return max(later - earlier for earlier, later in zip(moments, moments[1:]))

    def summary(self):
        return (f"{self.sent} requests in {self.ended - self.started:.1f}s, {len(self.failures)} failed, "
                f"{self.retried} sent again on a new connection, "
                f"longest gap without a success {self.longest_gap():.2f}s")
