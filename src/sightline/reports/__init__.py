"""HTML/JSON rendering of results. Computes nothing."""
