"""Model building: data (real scans with synthetic lesions), training stages, evaluation, export."""
