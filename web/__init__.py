"""Gallery's web layer: assembles the served app (registry API + pages)."""
