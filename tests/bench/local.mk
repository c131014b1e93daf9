# tests/bench/local.mk -- make bench: benchmark programs that print figures.
