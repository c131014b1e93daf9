-- vaned.lua -- the Vane broker's configuration.
--
-- A Lua file that returns one table.  Every key is optional: a key left out
-- keeps the default shown here, which is also what vaned uses when started
-- without --config.  Any Lua expression works, so secrets can come from the
-- environment:  token = os.getenv("VANE_TOKEN").
--
-- Check a file without starting the broker:  vaned --check-config --config FILE
-- Every key is described in doc/configuration.md.
return {
  -- Address and port of the HTTP listener: CloudEvents gateway, admin API,
  -- /metrics, /healthz and /readyz.  Use "0.0.0.0:8080" to listen on every
  -- IPv4 interface, or port 0 for any free port.
  listen = "127.0.0.1:8080",

  -- Where events, metadata and the lock file live.  Relative to the
  -- directory vaned was started in.
  data_dir = "./var",

  log = {
    level = "info",   -- error | warn | info | debug
    format = "text",  -- text | json (one JSON object per line)
  },

  store = {
    -- An eventlog's segment file is closed and a new one begun at this
    -- size; retention deletes whole segments.  64KiB .. 4GiB.
    segment_size = "64MiB",
  },

  gateway = {
    -- Largest request body taken, a whole batch included (413 above it).
    max_request_size = "1MiB",
    -- A published event's (source, id) is remembered this long: a repeat
    -- is answered with the first one's position, not stored again.  0: off.
    idempotency_window = "2m",
  },

  auth = {
    -- Bearer token (in <data_dir>/token, made at first need) for the admin
    -- API: auto (only when listen is not loopback) | required | none.
    admin = "auto",
    -- For POST /gateway/...: none | required.
    publish = "none",
  },

  plugins = {
    -- Folders of .so plugins, ':'-separated, watched while running.  Empty:
    -- ./plugins, ./connectors, those beside vaned and the installed ones.
    dirs = "",
  },

  scripts = {
    -- Folders of .lua scripts, ':'-separated.  Empty: ./filters-lua and the
    -- installed ones.
    dirs = "",
    budget = 1000000,  -- Lua instructions per call
    memory = "16MiB",  -- per script's Lua state
  },

  -- Connectors made (or updated) at every start, as POST /api/v1/connectors
  -- takes them; the eventbus or subscription must exist.  For example:
  --   connectors = {
  --     hook = { plugin = "source-http", eventbus = "orders", max = 2 },
  --   },
  connectors = {},
}
