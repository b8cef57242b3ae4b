"""What the tests and bench/ share to exercise the real server: the battery of client mistakes."""
