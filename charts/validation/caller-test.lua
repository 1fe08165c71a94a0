-- Runs the <release>-caller pre-function's code (rendered by the chart; validate.sh extracts it) against a fake Kong
-- PDK, in an environment holding only `kong` and `string` (Kong's sandbox offers more, so code that runs here runs
-- there). The cases are the local edge's: nginx's $edge_caller map and HAProxy's txn.caller give the same keys.
--   lua5.1 caller-test.lua ACCESS.lua HEADER_FILTER.lua
local function load_code(path)
  local file = assert(io.open(path))
  local chunk = assert(loadstring(file:read("*a"), path))
  file:close()
  return chunk
end
local access, header_filter = load_code(arg[1]), load_code(arg[2])

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

local function run_header_filter(status, grpc_status)
  local kong = {
    response = {
      get_status = function() return status end,
      get_header = function(name) if string.lower(name) == "grpc-status" then return grpc_status end end,
      set_status = function(new) status = new end,
    },
  }
  setfenv(header_filter, { kong = kong, string = string })
  header_filter()
  return status
end
check("gRPC call over the limit", run_header_filter(429, "8"), 200)
check("REST call over the limit", run_header_filter(429, nil), 429)
check("gRPC answer passed through", run_header_filter(200, "0"), 200)

if failed > 0 then os.exit(1) end
print("caller-test: the pre-function keys callers like the local edge (8 cases) and answers gRPC refusals with HTTP 200 (3 cases)")
