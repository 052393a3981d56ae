"""Builders of datasets: the default synthetic database, importers of open mine data,
and the template of ``uncertainty init``.

- :mod:`~uncertainty.build.jasansky` reads the open mine database of Jasansky et al.
  (2023) in place; :mod:`~uncertainty.build.archetypes` and
  :mod:`~uncertainty.build.archetypefit` fit the mine archetypes from it;
- :mod:`~uncertainty.build.defaultdata` generates the default synthetic database;
- :mod:`~uncertainty.build.importer` turns the open database into a dataset of real
  facilities (``uncertainty import jasansky``);
- :mod:`~uncertainty.build.template` writes a small study (``uncertainty init``).
"""
