"""Tests of the Hisar demo generator, one module per generating module of ``hmis_dev.demo``."""
