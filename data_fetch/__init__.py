"""Put the lesson's data into a Butler repository: simulate it (the default, offline) or ingest real files."""

#: Version of the simulator. Bump it whenever a change alters the simulated data: ``make lab`` and
#: ``make test`` rebuild a ``DATA/`` whose stamp differs.
SIMULATOR_VERSION = "1.8"
