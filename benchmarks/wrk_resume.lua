-- wrk script of benchmarks/service_throughput.py: every request resumes one session with its
-- current secret, and the rotated secret in the answer is what that session presents next time. A
-- session is in one request at a time (so no request is a reuse that would revoke it).
--
--   wrk ... -s wrk_resume.lua URL -- SESSIONS_FILE APPLICATION_KEY THREADS
--
-- SESSIONS_FILE holds "sessionId sessionSecret userId" lines; thread i takes lines i, i+THREADS, ...

local thread_count = 0

function setup(thread)
  thread:set("thread_index", thread_count)
  thread_count = thread_count + 1
end

function init(args)
  local path, threads = args[1], tonumber(args[3])
  application_key = args[2]
  free, secrets, users = {}, {}, {}
  local line_number = 0
  for line in io.lines(path) do
    if line_number % threads == thread_index then
      local id, secret, user = line:match("(%S+) (%S+) (%S+)")
      secrets[id], users[id] = secret, user
      table.insert(free, id)
    end
    line_number = line_number + 1
  end
  headers = {["Content-Type"] = "application/json"}
end

function request()
  local id = table.remove(free)
  if id == nil then
    -- More connections than sessions left: a malformed request, which wrk counts as an error.
    return wrk.format("POST", "/v1/sessions/resume", headers, "{}")
  end
  local body = string.format(
    '{"version":1,"applicationKey":"%s","userId":"%s","sessionId":"%s","sessionSecret":"%s"}',
    application_key, users[id], id, secrets[id])
  return wrk.format("POST", "/v1/sessions/resume", headers, body)
end

function response(status, headers, body)
  if status == 200 then
    local id = body:match('"sessionId":"([^"]+)"')
    secrets[id] = body:match('"sessionSecret":"([^"]+)"')
    table.insert(free, id)
  end
end
