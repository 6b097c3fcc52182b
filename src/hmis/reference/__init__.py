"""Reference data shipped with the pipeline (the HMIS data-item catalogue)."""
