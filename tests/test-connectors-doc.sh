#!/bin/sh
# test-connectors-doc.sh -- doc/connectors.md shows every shipped connector's
# options as the connector declares them (connectors/options-doc.c; TAP).
# Run by make check from the build directory.
exec connectors/options-doc --check "$VANE_SRCDIR/doc/connectors.md" \
	connectors/sink-stdout.la connectors/sink-http.la \
	connectors/source-http.la connectors/source-git.la
