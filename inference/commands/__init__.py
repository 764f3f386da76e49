"""Sub-commands of the ``ctchat`` command line."""
