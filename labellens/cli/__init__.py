"""The ``labellens`` command line: datasets, the App, the demo, brain methods, the zoo, the database."""
