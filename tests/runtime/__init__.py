"""Tests of what every dialect shares at run time."""
