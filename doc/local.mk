# doc/local.mk -- user documentation, installed into $(docdir).

dist_doc_DATA += doc/architecture.md doc/configuration.md doc/getting-started.md \
	doc/api.md doc/operations.md doc/storage.md doc/vanectl.md
dist_doc_DATA += doc/filters.md
dist_doc_DATA += doc/subscriptions.md
dist_doc_DATA += doc/transform.md
dist_doc_DATA += doc/plugins.md
dist_doc_DATA += doc/connectors.md
dist_doc_DATA += doc/github.md
dist_doc_DATA += doc/lua.md
dist_doc_DATA += doc/cluster.md
