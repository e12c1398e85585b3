"""The ``floe`` commands, one module per group; ``cli/main.py`` registers them."""
