--[[
redact.lua -- a transform that hides sensitive fields in an event's data.

Every key listed in REMOVE is deleted wherever it appears in the data, at any
depth; every key listed in MASK keeps its place but not its value: a string
keeps only its last four characters ("***1234"), anything else becomes
"***".  Keys compare without regard to case.  Events whose data is not JSON
(text, binary) pass unchanged, as do the attributes.

Use it as a subscription's transformer:  {"lua": "redact"}
Edit the two lists to suit; vaned reloads the file when it changes.
]]

local REMOVE = { "password", "secret", "token", "authorization", "api_key" }
local MASK = { "email", "phone", "card_number", "iban" }

-- The lists as sets of lower-case names.
local function set_of(list)
  local set = {}
  for _, name in ipairs(list) do
    set[string.lower(name)] = true
  end
  return set
end

local removed, masked = set_of(REMOVE), set_of(MASK)

local function mask(value)
  if type(value) == "string" and #value > 4 then
    return "***" .. string.sub(value, -4)
  end
  return "***"
end

-- Redacts a decoded JSON value in place (objects and arrays alike).
local function redact(value)
  if type(value) ~= "table" then
    return
  end
  for key, inner in pairs(value) do
    local name = type(key) == "string" and string.lower(key)
    if name and removed[name] then
      value[key] = nil
    elseif name and masked[name] then
      value[key] = mask(inner)
    else
      redact(inner)
    end
  end
end

function transform(event)
  redact(event.data)
  return event
end
