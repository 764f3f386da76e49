"""Slice-set models: a 2D multimodal LLM (MedGemma, Gemma 3 and other llama.cpp vision
models) given a CT as a set of rendered axial slices (:mod:`.recipe`, :mod:`.bundle`,
:mod:`.prompt`)."""
