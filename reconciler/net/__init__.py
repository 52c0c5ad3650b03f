"""Where an API is and with which credentials, how fast to ask, which answers are
well formed, and serving an app on loopback."""
