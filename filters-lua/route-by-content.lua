--[[
route-by-content.lua -- a filter that delivers only the events whose data
says they matter.

An event passes when any one of the RULES holds for its data.  A rule names
a field by its path in the data ("repository.name", "labels.1" for the first
element of an array) and one test:

  equals = v      the field is exactly v
  any_of = {...}  the field is one of the values listed
  at_least = n    the field is a number >= n
  matches = p     the field is a string matching the Lua pattern p

Events whose data is not JSON never pass.  Use it as a subscription's
filter (see doc/lua.md) and edit RULES to suit; vaned reloads the file
when it changes.
]]

local RULES = {
  { field = "severity", any_of = { "error", "critical" } },
  { field = "amount", at_least = 1000 },
  { field = "ref", equals = "refs/heads/main" },
  { field = "head_commit.message", matches = "%f[%w]URGENT%f[%W]" },
}

-- The value at a dotted path in data, or nil.
local function lookup(data, path)
  local value = data
  for step in string.gmatch(path, "[^%.]+") do
    if type(value) ~= "table" then
      return nil
    end
    value = value[math.tointeger(tonumber(step)) or step]
  end
  return value
end

local function holds(rule, value)
  if value == nil then
    return false
  elseif rule.equals ~= nil then
    return value == rule.equals
  elseif rule.any_of then
    for _, wanted in ipairs(rule.any_of) do
      if value == wanted then
        return true
      end
    end
    return false
  elseif rule.at_least then
    return type(value) == "number" and value >= rule.at_least
  elseif rule.matches then
    return type(value) == "string" and string.find(value, rule.matches) ~= nil
  end
  return false
end

function filter(event)
  local data = event.data
  if type(data) ~= "table" then
    return false
  end
  for _, rule in ipairs(RULES) do
    if holds(rule, lookup(data, rule.field)) then
      return true
    end
  end
  return false
end
