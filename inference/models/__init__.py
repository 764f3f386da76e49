"""Published models: the catalogue ``ctchat pull`` knows, where installed bundles live, and the
pull itself (download, checksums, conversion, registration).

Only :mod:`inference.models.hub` talks to the network (through ``huggingface_hub``, imported
when a pull needs it); every other module here reads local files.
"""
