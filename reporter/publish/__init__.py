"""Publishing: report.json, the figures, the pages filled from templates, the site, and every write into a folder."""
