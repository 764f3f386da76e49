"""The chat with the model: the panel, its transcript, the worker thread the model runs in, the
answer as it streams, the model's card, the scores table and the session report, and the
component the main window adds them with."""
