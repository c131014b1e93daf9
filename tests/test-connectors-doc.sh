#!/bin/sh
# test-connectors-doc.sh -- doc/connectors.md and each connector's README.md
# show the shipped connectors' options as the connectors declare them
# (connectors/options-doc.c prints TAP).  Run by make check from the build
# directory, on every connector built there; `make connectors-doc` brings
# the docs up to date.
d=$VANE_SRCDIR
plugins=
for la in connectors/*.la; do
	case $la in connectors/lib*) ;; *) plugins="$plugins $la" ;; esac
done
# shellcheck disable=SC2086 # the lists are words on purpose
exec connectors/options-doc --check "$d/doc/connectors.md" "$d"/connectors/*/README.md -- \
	$plugins
