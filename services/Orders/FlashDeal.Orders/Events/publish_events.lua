-- Publishes domain events to one stream with their explicit entry ids ("<sequence>-0"), in sequence order.
-- KEYS[1] the stream; ARGV[1] MAXLEN (approximate); then per event: sequence, type, key, event bytes.
-- An event at or below the stream's last generated id is there already (another relay, or this one before a crash,
-- published it; XADD would refuse the id): skipped. So every event is added once, never after a later one.
-- Returns the number added.
local top = 0
if redis.call('EXISTS', KEYS[1]) == 1 then
  local info = redis.call('XINFO', 'STREAM', KEYS[1])
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then
      top = tonumber(string.match(info[i + 1], '^(%d+)'))
    end
  end
end
local added = 0
for i = 2, #ARGV, 4 do
  local sequence = tonumber(ARGV[i])
  if sequence > top then
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], ARGV[i] .. '-0',
      'type', ARGV[i + 1], 'key', ARGV[i + 2], 'event', ARGV[i + 3])
    top = sequence
    added = added + 1
  end
end
return added
