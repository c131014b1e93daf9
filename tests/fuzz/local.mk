# tests/fuzz/local.mk -- fuzz targets for every parser of outside input.
