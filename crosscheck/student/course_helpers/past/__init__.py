"""Stands in for the `past` package of python-future, which CS231n's assignments of 2017-2020 import
(`from past.builtins import xrange`) and most environments no longer install."""
