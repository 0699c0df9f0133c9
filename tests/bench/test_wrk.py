"""The load tool's glue: the Lua data file and the JSON summary wrk prints."""

import pytest

from bench import wrk

CANNED = """Running 2s test @ http://127.0.0.1:8123
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    12.02ms    3.10ms  40.00ms   80.00%
  812 requests in 2.00s, 1.20MB read
  Non-2xx or 3xx responses: 12
Requests/sec:    406.00
Transfer/sec:    613.00KB
WRKJSON {"requests": 812, "duration_us": 2000000, "bytes": 1258291, "p50_us": 11500, \
"p90_us": 16000, "p99_us": 31000, "max_us": 40000, "mean_us": 12020.5, \
"errors": {"connect": 0, "read": 1, "write": 0, "status": 12, "timeout": 2}}
"""


def test_summary_gives_rate_percentiles_and_failures():
    result = wrk.parse(CANNED)
    assert result.requests == 812
    assert result.rate == pytest.approx(406.0)
    assert result.p50_ms == pytest.approx(11.5)
    assert result.p99_ms == pytest.approx(31.0)
    assert result.failures == 15  # 12 status >= 400, 1 read error, 2 timeouts
    assert result.failure_share == pytest.approx(15 / 812)


def test_output_without_a_summary_is_an_error():
    with pytest.raises(ValueError, match="no summary"):
        wrk.parse("Running 2s test @ http://127.0.0.1:1\nunable to connect\n")


def test_lua_strings_escape_quotes_backslashes_and_non_ascii():
    assert wrk.lua_string('a"b\\c') == '"a\\034b\\092c"'
    assert wrk.lua_string("é") == '"\\195\\169"'
    assert wrk.lua_string("line\n") == '"line\\010"'


def test_data_file_lists_method_path_headers_and_body():
    text = wrk.lua_data(
        [
            wrk.Request("GET", "/board/"),
            wrk.Request("POST", "/x/", {"Cookie": "a=b"}, "k={{key}}"),
        ],
        "run-1",
    )
    assert text.endswith('return {run_id = "run-1", requests = requests}\n')
    assert '{"GET", "/board/", {}, nil}' in text
    assert '{"POST", "/x/", {["Cookie"] = "a=b"}, "k={{key}}"}' in text


def test_data_file_keeps_each_function_under_luas_constant_limit():
    # 65,536 constants per Lua function: 200,000 post pages in one table broke wrk.
    text = wrk.lua_data([wrk.Request("GET", f"/board/p/{n}/") for n in range(2_500)], "run")
    parts = text.split("parts[#parts + 1] = function() return {")[1:]
    assert len(parts) == 3
    assert [part.count('"GET"') for part in parts] == [1_000, 1_000, 500]
    assert '"/board/p/2499/"' in parts[-1]


def test_wrk_sends_a_scenario_of_seventy_thousand_requests(tmp_path):
    """The data file runs in wrk's own Lua (LuaJIT): more rows than one function may hold."""
    import shutil
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    assert shutil.which("wrk"), "wrk is needed (Debian package wrk; .ci/run installs it)"
    seen = set()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # kept alive: fast enough to walk past the first thousand

        def do_GET(self):
            seen.add(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        requests = [wrk.Request("GET", f"/p/{n}/") for n in range(70_000)]
        result = wrk.run(
            f"http://127.0.0.1:{server.server_port}",
            requests,
            duration=2,
            connections=2,
            threads=1,
            workdir=tmp_path,
            name="many",
        )
    finally:
        server.shutdown()
    assert result.requests > 10 and result.failures == 0
    numbers = {int(path.split("/")[2]) for path in seen}
    assert numbers <= set(range(70_000))
    assert result.raw["loaded"] == 70_000  # every part of the data file, not only the first
