--[[
chat-message.lua -- a transform that turns an event into a short chat
message: data becomes {"text": "..."}, as Slack's, Mattermost's and Rocket.Chat's
incoming webhooks take it.

GitHub events get a sentence of their own:

  push          "vane/vane: alice pushed 3 commits to main"
  pull_request  "vane/vane: bob opened pull request #42: Faster filters"
  issues        "vane/vane: carol closed issue #7: Crash on start"

recognised by the event's type (com.github.push, com.github.pull_request,
com.github.pull_request.opened, ...) or, failing that, by the shape of the
data.  Any other event becomes "<type> from <source>" with
its subject when it has one.  The attributes stay as they were.

Use it as a subscription's transformer:  {"lua": "chat-message"}
]]

local function repository(data)
  local repo = type(data) == "table" and data.repository
  return type(repo) == "table" and (repo.full_name or repo.name) or "a repository"
end

local function branch(ref)
  return (string.gsub(ref or "?", "^refs/heads/", ""))
end

local function push_text(data)
  local count = type(data.commits) == "table" and #data.commits or 0
  local who = type(data.pusher) == "table" and data.pusher.name or "someone"
  return string.format("%s: %s pushed %d commit%s to %s", repository(data), who, count,
                       count == 1 and "" or "s", branch(data.ref))
end

local function numbered_text(data, thing, what)
  local item = data[thing]
  local who = type(data.sender) == "table" and data.sender.login
           or type(item.user) == "table" and item.user.login or "someone"
  return string.format("%s: %s %s %s #%s: %s", repository(data), who, data.action or "updated",
                       what, tostring(item.number), item.title or "")
end

-- The GitHub event an event is, from its type or its data; nil for others.
local function github_kind(event, data)
  local kind = string.match(event.type, "^com%.github%.([%w_]+)")
  if kind then
    return kind
  end
  if type(data) ~= "table" then
    return nil
  end
  if data.pusher and data.commits then
    return "push"
  elseif type(data.pull_request) == "table" then
    return "pull_request"
  elseif type(data.issue) == "table" then
    return "issues"
  end
  return nil
end

local function text_of(event)
  local data = event.data
  local kind = github_kind(event, data)
  if kind == "push" and type(data) == "table" then
    return push_text(data)
  elseif kind == "pull_request" and type(data) == "table" and type(data.pull_request) == "table" then
    return numbered_text(data, "pull_request", "pull request")
  elseif kind == "issues" and type(data) == "table" and type(data.issue) == "table" then
    return numbered_text(data, "issue", "issue")
  end
  local text = string.format("%s from %s", event.type, event.source)
  if event.subject then
    text = text .. ": " .. event.subject
  end
  return text
end

function transform(event)
  event.data = { text = text_of(event) }
  event.datacontenttype = "application/json"
  return event
end
