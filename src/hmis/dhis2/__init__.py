"""DHIS2 interchange: the id-scheme mapping, ``dataValueSets`` readers and writer, and a Web API pull.

- :mod:`hmis.dhis2.mapping` — one mapping, used both ways, between DHIS2 identifiers
  (data element + category option combo UIDs, org unit UIDs) and the catalogue's items
  (format, item code → data element + disaggregation) and the registry's facilities and
  LGD codes. Whatever it lacks travels as a code (id scheme ``CODE``), declared as such.
- :mod:`hmis.dhis2.readers` — ``dataValueSets`` in JSON, CSV and ADX XML, read into records.
- :mod:`hmis.dhis2.writer` — district aggregates written as ``dataValueSets`` (JSON, CSV, ADX),
  each document with the import parameters that declare its id schemes.
- :mod:`hmis.dhis2.client` — ``GET /api/dataValueSets`` against a DHIS2 server named by an
  Airflow HTTP connection, chunked per org unit and period, incremental by ``lastUpdated``.
"""
