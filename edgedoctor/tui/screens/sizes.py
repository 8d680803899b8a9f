"""Below these terminal sizes a screen is laid out for a small terminal (every screen
uses them; their own module so that no screen imports another for them)."""

NARROW, SHORT = 100, 32
