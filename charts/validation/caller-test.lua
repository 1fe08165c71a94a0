-- Runs the <release>-caller pre-function's code (rendered by the chart; validate.sh extracts it) against a fake Kong
-- PDK, in an environment holding only `kong` and `string` (Kong's sandbox offers more, so code that runs here runs
-- there). The cases are the local edge's: nginx's $edge_caller map and HAProxy's txn.caller give the same keys.
--   lua5.1 caller-test.lua ACCESS.lua HEADER_FILTER.lua BODY_FILTER.lua
local function load_code(path)
  local file = assert(io.open(path))
  local chunk = assert(loadstring(file:read("*a"), path))
  file:close()
  return chunk
end
local access, header_filter, body_filter = load_code(arg[1]), load_code(arg[2]), load_code(arg[3])

local failed = 0
local function check(what, got, want)
  if got ~= want then
    failed = failed + 1
    print(string.format("caller-test: %s: got %s, want %s", what, tostring(got), tostring(want)))
  end
end

local function run_access(request_headers, client_ip)
  local upstream = {}
  local kong = {
    request = { get_header = function(name) return request_headers[string.lower(name)] end },
    client = { get_forwarded_ip = function() return client_ip end },
    service = { request = { set_header = function(name, value) upstream[string.lower(name)] = value end } },
  }
  setfenv(access, { kong = kong, string = string })
  access()
  return upstream["x-flashdeal-caller"]
end

local ip = "203.0.113.7"
check("bearer token", run_access({ authorization = "Bearer aaa.bbb.c_d-E9" }, ip), "token:c_d-E9")
check("lower-case scheme, extra spaces", run_access({ authorization = "bearer  a.b.sig " }, ip), "token:sig")
check("no Authorization", run_access({}, ip), "address:" .. ip)
check("Basic credentials", run_access({ authorization = "Basic dXNlcjpwdw==" }, ip), "address:" .. ip)
check("two-part token", run_access({ authorization = "Bearer a.b" }, ip), "address:" .. ip)
check("four-part token", run_access({ authorization = "Bearer a.b.c.d" }, ip), "address:" .. ip)
check("signature with a slash", run_access({ authorization = "Bearer x.y.z/z" }, ip), "address:" .. ip)
check("client-sent caller header overwritten",
  run_access({ ["x-flashdeal-caller"] = "token:someone-else" }, ip), "address:" .. ip)

-- A response as the header and body filters see it: status, headers (lower-case names), source, body.
local function response(status, headers, source)
  local r = { status = status, headers = headers or {}, source = source or "exit" }
  r.kong = {
    response = {
      get_status = function() return r.status end,
      get_source = function() return r.source end,
      get_header = function(name) return r.headers[string.lower(name)] end,
      set_status = function(new) r.status = new end,
      set_header = function(name, value) r.headers[string.lower(name)] = value end,
      clear_header = function(name) r.headers[string.lower(name)] = nil end,
      set_raw_body = function(body) r.body = body end,
    },
  }
  return r
end
local function filter(r)
  setfenv(header_filter, { kong = r.kong, string = string })
  header_filter()
  setfenv(body_filter, { kong = r.kong, string = string })
  body_filter()
  return r
end

local grpc = filter(response(429, { ["grpc-status"] = "8" }))
check("gRPC call over the limit: status", grpc.status, 200)
check("gRPC call over the limit: body untouched", grpc.body, nil)
local rest = filter(response(429, { ["retry-after"] = "3", ["content-length"] = "41", ["content-type"] = "text/html" }))
check("REST call over the limit: status", rest.status, 429)
check("REST call over the limit: body", rest.body, '{"code":8,"message":"rate limit reached at the edge; retry after 3 s",'
  .. '"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"RATE_LIMITED","domain":"edge.flashdeal"}]}')
check("REST call over the limit: content type", rest.headers["content-type"], "application/json")
check("REST call over the limit: stale length cleared", rest.headers["content-length"], nil)
local odd = filter(response(429, { ["retry-after"] = "3, evil" }))
check("REST call over the limit: a Retry-After that is no number is not echoed", string.match(odd.body, "retry after (%S+) s"), "1")
local service = filter(response(429, { ["content-type"] = "application/json" }, "service"))
check("a service's own 429 passes untouched", service.body, nil)
local passed = filter(response(200, { ["grpc-status"] = "0" }))
check("gRPC answer passed through", passed.status, 200)

if failed > 0 then os.exit(1) end
print("caller-test: the pre-function keys callers like the local edge (8 cases), answers gRPC refusals with HTTP 200"
  .. " and REST refusals with the local edge's google.rpc.Status (9 checks)")
