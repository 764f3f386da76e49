"""Many scans at once: the inputs of ``ctchat batch`` (a folder of scans, or a CSV/JSONL of
questions), its JSONL results (resumable), and the runner that answers every question of a
scan on that scan's one encoding and KV prefix."""
