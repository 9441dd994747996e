-- wrk script for the benchmarks: GET, or POST of a prepared multipart body.
-- Environment: BENCH_BODY (file holding the request body; empty for GET), BENCH_CONTENT_TYPE,
-- BENCH_EXPECT (the status that counts as a success). wrk's -d bounds each run in time.
-- done() prints one line "BENCH {json}" that bench/common.py reads.

local body_file = os.getenv("BENCH_BODY") or ""
local expect = tonumber(os.getenv("BENCH_EXPECT") or "200")

if body_file ~= "" then
    local f = assert(io.open(body_file, "rb"))
    wrk.method = "POST"
    wrk.body = f:read("*a")
    f:close()
    wrk.headers["Content-Type"] = os.getenv("BENCH_CONTENT_TYPE")
end

local threads = {}

function setup(thread)
    table.insert(threads, thread)
end

function init(args)
    ok = 0
    failed = 0
    other = ""
end

function response(status, headers, body)
    if status == expect then
        ok = ok + 1
    else
        failed = failed + 1
        other = tostring(status)
    end
end

function done(summary, latency, requests)
    local good, bad, status = 0, 0, ""
    for _, thread in ipairs(threads) do
        good = good + thread:get("ok")
        bad = bad + thread:get("failed")
        if thread:get("other") ~= "" then
            status = thread:get("other")
        end
    end
    local errors = summary.errors
    io.write(string.format(
        'BENCH {"ok": %d, "failed": %d, "other_status": "%s", "seconds": %.6f, ' ..
        '"p50_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, "mean_ms": %.3f, ' ..
        '"socket_errors": %d, "timeouts": %d}\n',
        good, bad, status, summary.duration / 1e6,
        latency:percentile(50) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3,
        latency.mean / 1e3,
        errors.connect + errors.read + errors.write, errors.timeout))
end
