"""The one error type of the converter: its message is a sentence a user can act on."""


class ConversionError(Exception):
    """A published checkpoint cannot be converted (missing files, unknown layout, a failed
    llama.cpp step); ``str(error)`` says what and what to do."""
