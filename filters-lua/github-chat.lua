--[[
github-chat.lua -- a transform that turns the events of the source-github
connector into a short chat message: data becomes {"text": "..."}, as
Slack's, Mattermost's and Rocket.Chat's incoming webhooks take it.

It reads the type source-github gives, com.github.<event>[.<action>]
(doc/github.md), and the payload in data:

  com.github.push                 "vane/vane: alice pushed 2 commits to main"
  com.github.pull_request.opened  "vane/vane: bob opened pull request #42: Faster filters <url>"
  com.github.issues.closed        "vane/vane: carol closed issue #7: Crash on start <url>"
  com.github.release.published    "vane/vane: dave published release v1.2.0 <url>"
  anything else                   "vane/vane: star created by erin"

(chat-message.lua does the same for events of any origin, recognizing a
few GitHub payloads by their shape, without links.)  The attributes stay as
they were.

Use it as a subscription's transformer:  {"lua": "github-chat"}
]]

local function text(value, default)
  return type(value) == "string" and value or default
end

local function field(tbl, key)
  return type(tbl) == "table" and tbl[key] or nil
end

local function repository(data)
  local repo = field(data, "repository")
  return text(field(repo, "full_name"), text(field(field(data, "organization"), "login"), "GitHub"))
end

local function who(data)
  return text(field(field(data, "sender"), "login"), "someone")
end

local function push_text(data)
  local commits = field(data, "commits")
  local count = type(commits) == "table" and #commits or 0
  local pusher = text(field(field(data, "pusher"), "name"), who(data))
  local ref = string.gsub(text(field(data, "ref"), "?"), "^refs/heads/", "")
  return string.format("%s: %s pushed %d commit%s to %s", repository(data), pusher, count,
                       count == 1 and "" or "s", ref)
end

-- "opened pull request #42: Faster filters <url>"
local function numbered_text(data, key, what, action)
  local item = field(data, key)
  return string.format("%s: %s %s %s #%s: %s %s", repository(data), who(data), action, what,
                       tostring(field(item, "number") or "?"), text(field(item, "title"), ""),
                       text(field(item, "html_url"), ""))
end

local function release_text(data, action)
  local release = field(data, "release")
  return string.format("%s: %s %s release %s %s", repository(data), who(data), action,
                       text(field(release, "tag_name"), "?"), text(field(release, "html_url"), ""))
end

local function text_of(event)
  local data = event.data
  local name, action = string.match(event.type, "^com%.github%.([%w_]+)%.?(.*)$")
  if name == nil then
    return string.format("%s from %s", event.type, event.source)
  end
  if name == "push" then
    return push_text(data)
  elseif name == "pull_request" then
    return numbered_text(data, "pull_request", "pull request", action)
  elseif name == "issues" then
    return numbered_text(data, "issue", "issue", action)
  elseif name == "release" then
    return release_text(data, action)
  end
  local did = action ~= "" and (name .. " " .. action) or name
  return string.format("%s: %s by %s", repository(data), string.gsub(did, "_", " "), who(data))
end

function transform(event)
  event.data = { text = (string.gsub(text_of(event), "%s+$", "")) }
  event.datacontenttype = "application/json"
  return event
end
