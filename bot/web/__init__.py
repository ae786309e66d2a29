"""The public site and feeds: a second renderer of the programme's public data."""
