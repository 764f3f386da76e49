"""Model building: data (real scans with synthetic lesions), training stages, evaluation, export."""

import inference  # noqa: F401  (first: it turns ONNX Runtime's telemetry off)
