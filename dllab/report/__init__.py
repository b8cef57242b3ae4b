"""The pipeline's report: every metric and figure gathered into one HTML page and its Markdown twin."""
