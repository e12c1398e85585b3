"""How results look on a terminal: one module per result, untrusted strings escaped."""
