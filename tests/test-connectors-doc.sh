#!/bin/sh
# test-connectors-doc.sh -- doc/connectors.md and each connector's README.md
# show the shipped connectors' options as the connectors declare them
# (connectors/options-doc.c prints TAP).  Run by make check from the build
# directory; `make connectors-doc` brings the docs up to date.
d=$VANE_SRCDIR
exec connectors/options-doc --check "$d/doc/connectors.md" \
	"$d/connectors/sink-stdout/README.md" "$d/connectors/sink-http/README.md" \
	"$d/connectors/source-http/README.md" "$d/connectors/source-git/README.md" -- \
	connectors/sink-stdout.la connectors/sink-http.la \
	connectors/source-http.la connectors/source-git.la
